using Microsoft.Extensions.Configuration;
using System.Security.Cryptography;

namespace MlGrid.AppHost;

/// <summary>What a local run is configured with: environment variables first, sensible defaults otherwise.</summary>
internal sealed record LocalSettings(string DataDirectory, int GatewayPort, int Workers, string AdminKey, string ClusterId, string? SiloAddress)
{
    public const string AdminKeyVariable = "MLGRID_ADMIN_KEY";
    public const string DataDirectoryVariable = "MLGRID_DATA_DIR";
    public const string GatewayPortVariable = "MLGRID_GATEWAY_PORT";
    public const string WorkersVariable = "MLGRID_WORKERS";
    public const string SiloAddressVariable = "MLGRID_SILO_ADDRESS";

    /// <summary>A fresh key every start: only this run's gateway and control plane share it, so nothing stores it.</summary>
    public string InternalKey { get; } = RandomNumberGenerator.GetHexString(64, lowercase: true);

    public static LocalSettings Load(IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
        var dataDirectory = Path.GetFullPath(configuration[DataDirectoryVariable] is { Length: > 0 } dir ? dir : Path.Combine(repositoryRoot, ".mlgrid"));
        Directory.CreateDirectory(dataDirectory);

        var gatewayPort = configuration[GatewayPortVariable] is { Length: > 0 } port ? int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) : 5080;
        var workers = configuration[WorkersVariable] is { Length: > 0 } count ? int.Parse(count, System.Globalization.CultureInfo.InvariantCulture) : 2;

        // Every start is a new cluster (same storage, same state): silos of a killed run never hold up this one.
        var clusterId = $"mlgrid-{DateTime.UtcNow:yyyyMMddHHmmss}-{RandomNumberGenerator.GetHexString(4, lowercase: true)}";
        return new LocalSettings(dataDirectory, gatewayPort, workers, ReadOrCreateAdminKey(configuration, dataDirectory), clusterId,
            configuration[SiloAddressVariable] is { Length: > 0 } address ? address : null);
    }

    /// <summary>MLGRID_ADMIN_KEY when set; otherwise a key generated on first start, kept in the data folder and shown once.</summary>
    private static string ReadOrCreateAdminKey(IConfiguration configuration, string dataDirectory)
    {
        if (configuration[AdminKeyVariable] is { Length: > 0 } key)
        {
            return key;
        }

        var file = Path.Combine(dataDirectory, "admin-key");
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }

        var generated = "mlg_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        File.WriteAllText(file, generated);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        Console.WriteLine();
        Console.WriteLine("  MlGrid admin API key (shown once; kept in " + file + "):");
        Console.WriteLine("    " + generated);
        Console.WriteLine("  Send it as 'Authorization: Bearer <key>'. Set " + AdminKeyVariable + " to choose your own.");
        Console.WriteLine();
        return generated;
    }
}
