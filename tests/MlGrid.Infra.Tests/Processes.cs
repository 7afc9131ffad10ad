using System.Diagnostics;

namespace MlGrid.Infra.Tests;

/// <summary>Runs a tool to the end within a time limit, both output streams read as they come (neither can fill and stall it).</summary>
internal static class Processes
{
    public static (int Exit, string Stdout, string Stderr) Run(
        string fileName, IEnumerable<string> arguments, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Bicep.RepositoryRoot,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No telemetry or update checks: CI has no internet.
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish in {limit}.");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>Runs dotnet with the arguments and returns its output; fails the test, with both streams, when it fails.</summary>
    public static string Dotnet(TimeSpan limit, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var list = arguments.ToList();
        var (exit, stdout, stderr) = Run("dotnet", list, limit, environment);
        Assert.True(exit == 0, $"dotnet {string.Join(' ', list)} failed ({exit}):\n{stdout}\n{stderr}");
        return stdout;
    }
}
