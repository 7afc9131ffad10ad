using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using MlGrid.Gateway.Auth;
using static MlGrid.Gateway.Tests.GatewayHarness;

namespace MlGrid.Gateway.Tests;

/// <summary>Entra ID access tokens through the whole pipeline, against a fake tenant whose signing key the test holds.</summary>
public sealed class EntraIdTests : IAsyncLifetime
{
    private const string Tenant = "11111111-2222-3333-4444-555555555555";
    private const string Audience = "api://mlgrid-test";
    private const string Issuer = $"https://login.microsoftonline.com/{Tenant}/v2.0";

    private static readonly SymmetricSecurityKey SigningKey = new(RandomNumberGenerator.GetBytes(32)) { KeyId = "test-key" };

    private GatewayHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await StartAsync(
        new Dictionary<string, string?>
        {
            ["Gateway:EntraId:TenantId"] = Tenant,
            ["Gateway:EntraId:Audience"] = Audience,
            ["Gateway:EntraId:RoleMap:Custom.Ops"] = "admin",
        },
        services => services.PostConfigure<JwtBearerOptions>(EntraIdOptions.Scheme, o =>
        {
            // The tenant's metadata, given instead of fetched.
            var configuration = new OpenIdConnectConfiguration { Issuer = Issuer };
            configuration.SigningKeys.Add(SigningKey);
            o.Configuration = configuration;
            o.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(configuration);
            o.TokenValidationParameters.ValidIssuer = Issuer;
        }));

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_valid_token_with_an_editor_app_role_goes_through_as_that_principal()
    {
        using var client = _gateway.ClientWith(Token(roles: ["MlGrid.Editor"]));

        using var response = await client.PutAsync("/api/v1/endpoints/iris", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(_gateway.ControlPlane.Requests);
        Assert.Equal("entra:00000000-0000-0000-0000-0000000000aa", received.Headers["x-mlgrid-principal"]);
        Assert.Equal("editor", received.Headers["x-mlgrid-role"]);
        Assert.Equal(Uri.EscapeDataString("ana@contoso.example"), received.Headers["x-mlgrid-principal-name"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task The_most_privileged_mapped_role_wins_and_configured_roles_add_to_the_defaults()
    {
        using var both = _gateway.ClientWith(Token(roles: ["MlGrid.Reader", "MlGrid.Admin", "Something.Else"]));
        using var custom = _gateway.ClientWith(Token(roles: ["Custom.Ops"]));

        using var keys = await both.GetAsync("/api/v1/keys");
        using var stats = await custom.GetAsync("/gateway/v1/stats");

        Assert.Equal(HttpStatusCode.OK, keys.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
    }

    [Fact]
    public async Task A_reader_token_is_refused_a_write_with_the_role_it_needs()
    {
        using var client = _gateway.ClientWith(Token(roles: ["MlGrid.Reader"]));

        using var response = await client.PostAsync("/api/2.0/mlflow/runs/create", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("PERMISSION_DENIED", body.GetProperty("error_code").GetString());
        Assert.Contains("needs the editor or admin role", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_token_without_a_mapped_app_role_gets_403_naming_the_roles_to_assign()
    {
        using var client = _gateway.ClientWith(Token(roles: ["Other.App.Role"]));

        using var response = await client.GetAsync("/api/v1/models");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Contains("carries no MlGrid app role", detail);
        Assert.Contains("MlGrid.Admin", detail);
        Assert.Contains("MlGrid.Predictor", detail);
        Assert.Empty(_gateway.ControlPlane.Requests);
        await EventuallyAsync(() => _gateway.Audit.Events.Any(e => e.Status == 403 && e.Principal == "entra:00000000-0000-0000-0000-0000000000aa"),
            "the refusal is audited under the token's object id");
    }

    [Theory]
    [InlineData("audience", "another audience")]
    [InlineData("expired", "expired at")]
    [InlineData("signature", "signature is not valid")]
    [InlineData("issuer", "not issued by the tenant")]
    public async Task An_invalid_token_gets_401_without_the_token_in_the_answer(string flaw, string reason)
    {
        var token = flaw switch
        {
            "audience" => Token(roles: ["MlGrid.Admin"], audience: "api://someone-else"),
            "expired" => Token(roles: ["MlGrid.Admin"], expires: DateTime.UtcNow.AddMinutes(-10)),
            "signature" => Token(roles: ["MlGrid.Admin"], key: new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "test-key" }),
            _ => Token(roles: ["MlGrid.Admin"], issuer: "https://login.microsoftonline.com/another-tenant/v2.0"),
        };
        using var client = _gateway.ClientWith(token);

        using var response = await client.PostAsync("/v2/models/iris/infer", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(reason, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain(token.Split('.')[1], body);
        await EventuallyAsync(() => _gateway.Audit.Events.Any(e => e.Status == 401), "the refusal is audited");
        Assert.All(_gateway.Audit.Events, e => Assert.DoesNotContain(token.Split('.')[1], e.Detail ?? ""));
    }

    [Fact]
    public async Task Api_keys_keep_working_beside_entra_id()
    {
        var (_, key) = _gateway.AddKey("ci", MlGrid.Contracts.Role.Reader);

        using var response = await _gateway.ClientWith(key).GetAsync("/api/v1/models");
        using var admin = await _gateway.Client.GetAsync("/api/v1/keys");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
    }

    [Fact]
    public async Task Without_entra_id_configured_a_jwt_is_just_an_invalid_key()
    {
        await using var gateway = await StartAsync();
        using var client = gateway.ClientWith(Token(roles: ["MlGrid.Admin"]));

        using var response = await client.GetAsync("/api/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Invalid API key. This call needs a key with the reader, editor or admin role.",
            JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", true)]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", false)]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIi+In0.c2ln", false)]
    [InlineData("mlgk_key_0123456789ab_secret", false)]
    public void Only_three_base64url_parts_starting_with_a_json_header_look_like_a_jwt(string token, bool expected) =>
        Assert.Equal(expected, EntraIdAuthentication.LooksLikeJwt(token));

    private static string Token(
        string[] roles,
        string audience = Audience,
        string issuer = Issuer,
        DateTime? expires = null,
        SymmetricSecurityKey? key = null)
    {
        var expiry = expires ?? DateTime.UtcNow.AddMinutes(30);
        var claims = new Dictionary<string, object>
        {
            ["oid"] = "00000000-0000-0000-0000-0000000000aa",
            ["sub"] = "subject-1",
            ["preferred_username"] = "ana@contoso.example",
            ["tid"] = Tenant,
        };
        if (roles.Length > 0)
        {
            claims["roles"] = roles;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = expiry.AddMinutes(-60),
            NotBefore = expiry.AddMinutes(-60),
            Expires = expiry,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key ?? SigningKey, SecurityAlgorithms.HmacSha256),
        });
    }
}
