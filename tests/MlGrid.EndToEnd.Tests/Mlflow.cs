using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>Calls MLflow's REST API the way MLflow's own clients do: JSON bodies on POST, query strings on GET.</summary>
internal sealed class Mlflow(HttpClient client)
{
    public const string Prefix = "/api/2.0/mlflow/";

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(string path, object body)
    {
        using var response = await client.PostAsJsonAsync(Prefix + path, body);
        return (response.StatusCode, await ReadAsync(response));
    }

    /// <summary>A PATCH or DELETE with a JSON body, as MLflow's clients send registry updates and deletes.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, Prefix + path) { Content = JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await ReadAsync(response));
    }

    public async Task<JsonElement> OkSendAsync(HttpMethod method, string path, object body)
    {
        var (status, json) = await SendAsync(method, path, body);
        Assert.True(status == HttpStatusCode.OK, $"{method} {path}: {(int)status} {json}");
        return json;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> PostRawAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(Prefix + path, content);
        return (response.StatusCode, await ReadAsync(response));
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string pathAndQuery)
    {
        using var response = await client.GetAsync(Prefix + pathAndQuery);
        return (response.StatusCode, await ReadAsync(response));
    }

    /// <summary>A call that must succeed; the body of a failure is in the assertion message.</summary>
    public async Task<JsonElement> OkAsync(string path, object body)
    {
        var (status, json) = await PostAsync(path, body);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {json}");
        return json;
    }

    public async Task<JsonElement> OkGetAsync(string pathAndQuery)
    {
        var (status, json) = await GetAsync(pathAndQuery);
        Assert.True(status == HttpStatusCode.OK, $"{pathAndQuery}: {(int)status} {json}");
        return json;
    }

    public async Task<string> CreateExperimentAsync(string name) =>
        (await OkAsync("experiments/create", new { name })).GetProperty("experiment_id").GetString()!;

    public async Task<JsonElement> CreateRunAsync(string experimentId, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["experiment_id"] = experimentId, ["start_time"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        if (extra is not null)
        {
            foreach (var property in JsonSerializer.SerializeToElement(extra).EnumerateObject())
            {
                body[property.Name] = property.Value;
            }
        }

        return (await OkAsync("runs/create", body)).GetProperty("run");
    }

    /// <summary>Asserts MLflow's error body: the status, the <c>error_code</c> and a message.</summary>
    public static void AssertError((HttpStatusCode Status, JsonElement Body) answer, HttpStatusCode status, string errorCode, string? messagePart = null)
    {
        Assert.True(answer.Status == status, $"expected {(int)status}, got {(int)answer.Status}: {answer.Body}");
        Assert.Equal(errorCode, answer.Body.GetProperty("error_code").GetString());
        var message = answer.Body.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, message, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text.Length == 0 ? "null" : text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text);
        }
    }
}

internal static class MlflowJsonExtensions
{
    /// <summary>MLflow's <c>[{key, value}]</c> lists as a dictionary; an absent list is empty.</summary>
    public static Dictionary<string, string> KeyValues(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var list)
            ? list.EnumerateArray().ToDictionary(e => e.GetProperty("key").GetString()!, e => e.GetProperty("value").GetString()!)
            : [];

    public static IEnumerable<JsonElement> Items(this JsonElement element, string property) =>
        element.TryGetProperty(property, out var list) ? list.EnumerateArray() : [];
}
