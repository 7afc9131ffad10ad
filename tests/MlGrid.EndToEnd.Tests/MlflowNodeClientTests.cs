using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>
/// A real MLflow client from a registry (npm's <c>mlflow</c> 2.0.7) runs a data scientist's session against the gateway
/// (<c>mlflow-client/scenario.mjs</c>); then the REST API shows that what it logged is stored.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class MlflowNodeClientTests(MlGridFixture fixture)
{
    private Mlflow Client => new(fixture.App.Gateway);

    [Fact]
    public async Task The_npm_mlflow_client_logs_a_session_that_the_api_reads_back()
    {
        var (_, key) = await fixture.App.CreateKeyAsync("editor");
        var name = TestNames.Unique("node-client");

        var result = await MlflowNodeClient.RunScenarioAsync(fixture.App.Gateway.BaseAddress!, key, name);

        Assert.True(result.ExitCode == 0, $"The scenario exited with {result.ExitCode}.\n{result}");
        var summary = result.Summary();
        Assert.True(summary.GetProperty("ok").GetBoolean(), result.ToString());
        Assert.True(summary.GetProperty("checks").GetInt32() > 20, result.ToString());
        var experimentId = summary.GetProperty("experiment_id").GetString()!;
        var runIds = summary.GetProperty("run_ids");
        var (best, fast, unlucky) = (runIds.GetProperty("best").GetString()!, runIds.GetProperty("fast").GetString()!, runIds.GetProperty("unlucky").GetString()!);

        // The experiment under the name the client gave it last, with the tag it set around the package's broken call.
        var experiment = (await Client.OkGetAsync($"experiments/get-by-name?experiment_name={Uri.EscapeDataString(name + "-final")}")).GetProperty("experiment");
        Assert.Equal(experimentId, experiment.GetProperty("experiment_id").GetString());
        Assert.Equal("active", experiment.GetProperty("lifecycle_stage").GetString());
        Assert.Equal("fraud", experiment.KeyValues("tags")["team"]);

        var runs = (await Client.OkAsync("runs/search", new { experiment_ids = new[] { experimentId }, run_view_type = "ALL", order_by = new[] { "metrics.loss" } }))
            .Items("runs").ToList();
        Assert.Equal([best, fast, unlucky], runs.Select(r => r.GetProperty("info").GetProperty("run_id").GetString()));
        Assert.Equal(["FINISHED", "FINISHED", "FAILED"], runs.Select(r => r.GetProperty("info").GetProperty("status").GetString()));
        Assert.Equal(["active", "active", "deleted"], runs.Select(r => r.GetProperty("info").GetProperty("lifecycle_stage").GetString()));
        Assert.All(runs, r => Assert.Equal("ana", r.GetProperty("info").GetProperty("user_id").GetString()));

        var bestRun = runs[0];
        Assert.Equal("baseline-lr-0.01", bestRun.GetProperty("info").GetProperty("run_name").GetString());
        var data = bestRun.GetProperty("data");
        Assert.Equal(
            new Dictionary<string, string> { ["lr"] = "0.01", ["optimizer"] = "adam", ["epochs"] = "5", ["batch_size"] = "64" },
            data.KeyValues("params"));
        var metrics = data.Items("metrics").ToDictionary(m => m.GetProperty("key").GetString()!, m => m.GetProperty("value").GetDouble());
        Assert.Equal(0.21, metrics["loss"]);
        Assert.Equal(0.895, metrics["accuracy"]);
        var tags = data.KeyValues("tags");
        Assert.Equal("transactions-2026-10", tags["dataset"]);
        Assert.Equal("run 1 of 3", tags["notes"]);
        Assert.False(tags.ContainsKey("stage"), "The tag the client deleted is still there.");

        var history = (await Client.OkGetAsync($"metrics/get-history?run_id={best}&metric_key=loss")).Items("metrics").ToList();
        Assert.Equal([0L, 1, 2, 3, 4], history.Select(m => m.GetProperty("step").GetInt64()));
        Assert.Equal([0.9, 0.62, 0.41, 0.3, 0.21], history.Select(m => m.GetProperty("value").GetDouble()));

        var artifacts = await Client.OkGetAsync($"artifacts/list?run_id={best}&path=model");
        Assert.Equal(["model/MLmodel", "model/model.onnx"], artifacts.Items("files").Select(f => f.GetProperty("path").GetString()).Order(StringComparer.Ordinal));
        var mlmodel = await fixture.App.Gateway.GetStringAsync($"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{best}/artifacts/model/MLmodel");
        Assert.StartsWith("flavors:", mlmodel, StringComparison.Ordinal);

        // The editor key sent by header is never echoed into what the client prints.
        Assert.DoesNotContain(key, result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(key, result.Stderr, StringComparison.Ordinal);
    }
}

/// <summary>
/// The Node project in <c>mlflow-client/</c> next to this file: installed from its lock file on first use (CI runs only
/// <c>dotnet test</c>), then run with <c>node</c> against a running MlGrid.
/// </summary>
internal static class MlflowNodeClient
{
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromMinutes(3);
    private static readonly SemaphoreSlim Installing = new(1, 1);

    /// <summary>Found in the source tree rather than copied into bin, so node_modules is installed once per checkout.</summary>
    public static string Folder { get; } = Locate();

    public static async Task<NodeResult> RunScenarioAsync(Uri gateway, string key, string experimentName)
    {
        await EnsureInstalledAsync();
        var environment = new Dictionary<string, string>
        {
            ["MLGRID_URL"] = gateway.ToString().TrimEnd('/'),
            ["MLGRID_KEY"] = key,
            ["MLGRID_EXPERIMENT"] = experimentName,
        };
        return await RunAsync("node", ["scenario.mjs"], environment, ScenarioTimeout);
    }

    private static async Task EnsureInstalledAsync()
    {
        var installed = Path.Combine(Folder, "node_modules", "mlflow", "package.json");
        if (File.Exists(installed))
        {
            return;
        }

        await Installing.WaitAsync();
        try
        {
            if (File.Exists(installed))
            {
                return;
            }

            var npm = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";
            var result = await RunAsync(npm, ["ci", "--no-audit", "--no-fund"], new Dictionary<string, string>(), InstallTimeout);
            Assert.True(result.ExitCode == 0 && File.Exists(installed), $"npm ci in {Folder} failed with {result.ExitCode}.\n{result}");
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task<NodeResult> RunAsync(string fileName, string[] arguments, Dictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Folder,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = new Process { StartInfo = start };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        Assert.True(process.Start(), $"Could not start {fileName}; Node.js (with npm) is required.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.\n{new NodeResult(-1, Read(stdout), Read(stderr))}");
        }

        // The parameterless wait drains the redirected streams after the process has exited.
        await process.WaitForExitAsync();
        return new NodeResult(process.ExitCode, Read(stdout), Read(stderr));
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static string Locate()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MlGrid.sln")))
            {
                return Path.Combine(directory.FullName, "tests", "MlGrid.EndToEnd.Tests", "mlflow-client");
            }
        }

        throw new InvalidOperationException($"No MlGrid.sln above {AppContext.BaseDirectory}; the MLflow client scenario lives in the source tree.");
    }
}

internal sealed record NodeResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The scenario's last stdout line: its JSON summary.</summary>
    public JsonElement Summary()
    {
        var last = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(last is null, $"The scenario printed nothing.\n{this}");
        try
        {
            return JsonDocument.Parse(last).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The scenario's last line is not its JSON summary: {ex.Message}\n{this}", ex);
        }
    }

    public override string ToString() => $"--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}
