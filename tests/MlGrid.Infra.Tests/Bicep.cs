using System.Reflection;
using System.Text.Json;

namespace MlGrid.Infra.Tests;

/// <summary>The Bicep CLI from its NuGet package, run over the repository's infra/ folder.</summary>
internal static class Bicep
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string MainFile => Path.Combine(RepositoryRoot, "infra", "main.bicep");

    private static readonly Lazy<JsonElement> Compiled = new(() =>
    {
        var (exit, stdout, stderr) = Run("build", MainFile, "--stdout");
        Assert.True(exit == 0, $"bicep build failed ({exit}): {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    });

    /// <summary>The ARM template main.bicep compiles to.</summary>
    public static JsonElement Template => Compiled.Value;

    public static (int Exit, string Stdout, string Stderr) Run(params string[] arguments)
    {
        var path = Metadata("BicepPath").Replace('\\', '/');
        Assert.True(File.Exists(path), $"The Bicep CLI is not at {path}; the Azure.Bicep.CommandLine package should have brought it.");
        return Processes.Run(path, arguments, TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["BICEP_TRACING_ENABLED"] = "false" });
    }

    private static string Metadata(string key) =>
        typeof(Bicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"No {key} metadata.");
}
