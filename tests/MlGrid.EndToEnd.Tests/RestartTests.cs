using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

[Collection(EndToEndCollection.Name)]
public sealed class RestartTests
{
    private const string AdminKey = "restart-admin-key-0123456789";

    [Fact]
    public async Task After_a_full_restart_models_aliases_and_endpoints_are_back_and_answer_identically()
    {
        var dataDirectory = MlGridApp.NewDataDirectory();
        var request = new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 2, 3 }, data = new[] { 1f, 2f, 3f, 4f, 5f, 6f } } } };
        string before;
        string modelBefore;
        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            await app.UploadModelAsync("churn", TestModels.FixedShapeRelu());
            await app.UploadModelAsync("churn", TestModels.Linear());
            using var alias = await app.Gateway.PutAsJsonAsync("/api/v1/models/churn/aliases/champion", new { version = 2 });
            Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
            await app.DeployAsync("churn", new { deployments = new[] { new { name = "blue", model = "churn", version = "champion", replicas = 2 } } });
            using var response = await app.InferAsync("churn", request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            before = ResponseOutputs(await response.Content.ReadAsStringAsync());
            modelBefore = await app.Gateway.GetStringAsync("/api/v1/models/churn");
        }

        await using (var app = await MlGridApp.StartAsync(dataDirectory, AdminKey))
        {
            Assert.Equal(modelBefore, await app.Gateway.GetStringAsync("/api/v1/models/churn"));
            var view = await app.WaitForReadyAsync("churn");
            Assert.Equal(2, view.GetProperty("deployments")[0].GetProperty("modelVersion").GetInt32());
            Assert.Equal(1, view.GetProperty("generation").GetInt64());

            using var response = await app.InferAsync("churn", request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(before, ResponseOutputs(await response.Content.ReadAsStringAsync()));
        }
    }

    private static string ResponseOutputs(string body) => JsonDocument.Parse(body).RootElement.GetProperty("outputs").GetRawText();
}
