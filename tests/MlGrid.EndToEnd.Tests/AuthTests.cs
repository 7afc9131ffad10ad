using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class AuthTests(MlGridFixture fixture)
{
    private MlGridApp App => fixture.App;

    [Theory]
    [InlineData("/api/v1/models")]
    [InlineData("/api/v1/endpoints")]
    [InlineData("/v2/models/anything")]
    [InlineData("/v2/models/anything/ready")]
    public async Task Protected_routes_refuse_missing_and_wrong_keys(string path)
    {
        using var missing = await App.Anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);

        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key-0123456789");
        using var wrong = await App.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var body = await wrong.Content.ReadAsStringAsync();
        Assert.DoesNotContain("not-the-key", body);
    }

    [Fact]
    public async Task Inference_refusal_uses_the_inference_error_body()
    {
        using var content = new StringContent("{\"inputs\":[]}", System.Text.Encoding.UTF8, "application/json");
        using var response = await App.Anonymous.PostAsync("/v2/models/x/infer", content);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Authorization", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2")]
    public async Task Health_and_server_metadata_are_anonymous(string path)
    {
        using var response = await App.Anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
