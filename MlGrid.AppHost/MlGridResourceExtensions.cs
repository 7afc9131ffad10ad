using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MlGrid.AppHost;

/// <summary>The heavier wiring of the AppHost: Azurite as an executable, and what every silo needs to join the cluster.</summary>
internal static class MlGridResourceExtensions
{
    /// <summary>Azurite's well-known development account (public, documented, local only).</summary>
    private const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Starts Azurite from npm (installing it on first run) with its data in the local data folder.</summary>
    public static IResourceBuilder<AzuriteResource> AddAzurite(this IDistributedApplicationBuilder builder, string name, LocalSettings settings)
    {
        var toolDirectory = Path.Combine(builder.AppHostDirectory, "azurite");
        var entryPoint = Path.Combine(toolDirectory, "node_modules", "azurite", "dist", "src", "azurite.js");
        EnsureInstalled(toolDirectory, entryPoint);

        var dataDirectory = Path.Combine(settings.DataDirectory, "storage");
        Directory.CreateDirectory(dataDirectory);
        var blobPort = FreePort();
        var queuePort = FreePort();
        var tablePort = FreePort();

        var resource = new AzuriteResource(name, toolDirectory, blobPort, tablePort);
        var healthCheck = $"{name}-listening";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, async cancellationToken =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, tablePort, cancellationToken);
                using var blob = new TcpClient();
                await blob.ConnectAsync(IPAddress.Loopback, blobPort, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (SocketException ex)
            {
                return HealthCheckResult.Unhealthy("Azurite is not listening yet", ex);
            }
        });

        return builder.AddResource(resource)
            .WithCommand("node")
            .WithArgs(
                entryPoint,
                "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
                "--location", dataDirectory,
                "--blobHost", "127.0.0.1", "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queueHost", "127.0.0.1", "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tableHost", "127.0.0.1", "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithHealthCheck(healthCheck);
    }

    /// <summary>Storage, cluster id and start order every silo and cluster client needs.</summary>
    public static IResourceBuilder<ProjectResource> WithMlGridCluster(
        this IResourceBuilder<ProjectResource> project, IResourceBuilder<AzuriteResource> storage, LocalSettings settings) =>
        project
            .WithEnvironment("ConnectionStrings__storage", storage.Resource.ConnectionString)
            .WithEnvironment("Orleans__ClusterId", settings.ClusterId)
            .WaitFor(storage);

    /// <summary>
    /// With MLGRID_SILO_ADDRESS set (an IP address, or auto for this machine's own), a silo advertises that address
    /// and listens on every interface, as silos do in Azure; otherwise the cluster stays on loopback.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithSiloAddress(this IResourceBuilder<ProjectResource> project, LocalSettings settings) =>
        settings.SiloAddress is { } address ? project.WithEnvironment("Orleans__Endpoints__AdvertisedIPAddress", address) : project;

    private static void EnsureInstalled(string toolDirectory, string entryPoint)
    {
        if (File.Exists(entryPoint))
        {
            return;
        }

        Console.WriteLine($"Installing Azurite from npm into {toolDirectory} (first run only, takes a minute)...");
        var npm = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";
        var lockFile = File.Exists(Path.Combine(toolDirectory, "package-lock.json"));
        using var install = Process.Start(new ProcessStartInfo(npm, lockFile ? "ci --no-audit --no-fund" : "install --no-audit --no-fund")
        {
            WorkingDirectory = toolDirectory,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("Could not start npm; install Node.js (with npm) and try again.");
        install.WaitForExit();
        if (install.ExitCode != 0 || !File.Exists(entryPoint))
        {
            throw new InvalidOperationException($"Installing Azurite with npm failed (exit code {install.ExitCode}); see the npm output above.");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal sealed class AzuriteResource(string name, string workingDirectory, int blobPort, int tablePort)
        : ExecutableResource(name, "node", workingDirectory), IResourceWithConnectionString
    {
        public int BlobPort { get; } = blobPort;

        public int TablePort { get; } = tablePort;

        /// <summary>127.0.0.1, never localhost: with localhost the blob client drops the account from the path.</summary>
        public string ConnectionString =>
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevelopmentAccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

        /// <summary>Lets tools and tests ask the app for the storage connection string by resource name.</summary>
        public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{ConnectionString}");
    }
}
