using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Testing;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// The cluster as it runs in Azure: silos advertise this machine's own address instead of loopback and listen on
/// every interface, and the gateway calls workers at the address they publish.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ClusterNetworkTests
{
    [Fact]
    public async Task With_silos_advertising_the_machines_own_address_the_cluster_forms_and_serves_through_the_gateway()
    {
        await using var app = await MlGridApp.StartAsync(MlGridApp.NewDataDirectory(), "network-admin-key-0123456789", "MLGRID_SILO_ADDRESS=auto");

        // Both workers joined, each publishing inference at a non-loopback IPv4 address.
        JsonElement workers = default;
        await app.WaitUntilAsync(async () =>
        {
            workers = await app.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/workers");
            return workers.GetArrayLength() == 2;
        }, TimeSpan.FromSeconds(60), () => $"workers: {workers}");
        foreach (var worker in workers.EnumerateArray())
        {
            var url = new Uri(worker.GetProperty("inferenceUrl").GetString()!);
            var address = IPAddress.Parse(url.Host);
            Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, address.AddressFamily);
            Assert.False(IPAddress.IsLoopback(address), $"worker publishes {url}");
        }

        // A model deployed on both workers answers through the gateway, which reaches them only at those addresses.
        await app.UploadModelAsync("network", TestModels.Linear());
        await app.DeployAsync("network", new { deployments = new[] { new { name = "main", model = "network", version = "1", replicas = 2 } } });
        float[] x = [1f, 2f, 3f];
        for (var i = 0; i < 6; i++)
        {
            using var response = await app.InferAsync("network", new { inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3 }, data = x } } });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var data = JsonDocument.Parse(body).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            for (var j = 0; j < 2; j++)
            {
                var expected = TestModels.LinearBias[j] + Enumerable.Range(0, 3).Sum(k => x[k] * TestModels.LinearWeights[k * 2 + j]);
                Assert.Equal(expected, data[j], 4);
            }
        }

        // The replicas are served at those published addresses, by silos known to the cluster by the same address.
        var workerUrls = workers.EnumerateArray().Select(w => w.GetProperty("inferenceUrl").GetString()).ToHashSet();
        var endpoint = await app.Gateway.GetFromJsonAsync<JsonElement>("/api/v1/endpoints/network");
        var replicas = endpoint.GetProperty("deployments")[0].GetProperty("replicaStatus").EnumerateArray().ToList();
        Assert.Equal(2, replicas.Count);
        Assert.All(replicas, r =>
        {
            var url = r.GetProperty("url").GetString()!;
            Assert.Contains(workerUrls, w => url.StartsWith(w + "/", StringComparison.Ordinal));
            // The silo address: host:port@generation, at the same host as the worker's inference URL.
            Assert.Equal(new Uri(url).Host, r.GetProperty("worker").GetString()!.Split(':')[0]);
        });
    }
}
