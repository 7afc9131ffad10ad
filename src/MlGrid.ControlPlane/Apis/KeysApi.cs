using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Governance;

namespace MlGrid.ControlPlane.Apis;

/// <summary>API keys: create them (the secret is shown once), list them, revoke them. Admin only.</summary>
public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/keys").WithTags("Keys");
        api.MapPost("/", CreateKey);
        api.MapGet("/", ListKeys);
        api.MapGet("/{id}", GetKey);
        api.MapDelete("/{id}", RevokeKey);
        return api;
    }

    public static async Task<Results<Created<KeyResponse>, ProblemHttpResult>> CreateKey(
        HttpContext context, IGrainFactory grains, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"The body is not valid JSON: {ex.Message}");
        }

        KeyRequest? request;
        string? error;
        using (document)
        {
            (request, error) = KeyCreateRequest.Parse(document.RootElement);
        }

        if (request is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, error!);
        }

        var createdBy = context.GetPrincipal()?.Id ?? GovernanceFeature.Anonymous;
        var created = await grains.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key).Create(request, createdBy);
        var record = created.Record;
        context.SetAuditDetail($"key {record.Id} '{record.Name}' ({Roles.Name(record.Role)}) created");

        // The answer carries the only copy of the secret: no cache may keep it.
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Created(
            $"/api/v1/keys/{record.Id}",
            KeyResponse.From(record, DateTimeOffset.UtcNow, ApiKeys.Format(record.Id, created.Secret)));
    }

    public static async Task<Ok<KeyListResponse>> ListKeys(IGrainFactory grains)
    {
        var ring = await grains.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key).Get();
        var now = DateTimeOffset.UtcNow;
        return TypedResults.Ok(new KeyListResponse(ring.Keys.Values
            .OrderBy(k => k.CreatedAt)
            .ThenBy(k => k.Id, StringComparer.Ordinal)
            .Select(k => KeyResponse.From(k, now))
            .ToList()));
    }

    public static async Task<Results<Ok<KeyResponse>, ProblemHttpResult>> GetKey(string id, IGrainFactory grains)
    {
        var ring = await grains.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key).Get();
        return ring.Keys.TryGetValue(id, out var record)
            ? TypedResults.Ok(KeyResponse.From(record, DateTimeOffset.UtcNow))
            : Problems.Of(StatusCodes.Status404NotFound, $"API key '{id}' does not exist.");
    }

    /// <summary>Revokes the key for every gateway that follows the key ring. Revoking a revoked key changes nothing.</summary>
    public static async Task<Ok<KeyResponse>> RevokeKey(string id, HttpContext context, IGrainFactory grains)
    {
        var record = await grains.GetGrain<IKeyRegistryGrain>(IKeyRegistryGrain.Key).Revoke(id);
        context.SetAuditDetail($"key {record.Id} '{record.Name}' ({Roles.Name(record.Role)}) revoked");
        return TypedResults.Ok(KeyResponse.From(record, DateTimeOffset.UtcNow));
    }
}
