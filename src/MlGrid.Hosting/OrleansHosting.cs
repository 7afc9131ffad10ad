using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MlGrid.Contracts;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MlGrid.Hosting;

/// <summary>How every MlGrid process joins the Orleans cluster: one service id, one clustering table, one grain storage.</summary>
public static class OrleansHosting
{
    public const string ServiceId = "mlgrid";

    /// <summary>Runs this process as a silo of <paramref name="role"/>, publishing <paramref name="metadata"/> to the cluster.</summary>
    public static IHostApplicationBuilder AddMlGridSilo(
        this IHostApplicationBuilder builder,
        string role,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        builder.AddMlGridStorage();
        var configuration = builder.Configuration;
        var siloMetadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            [SiloRoles.RoleKey] = role,
        };

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId(configuration);
                o.ServiceId = ServiceId;
            });
            silo.Configure<SiloOptions>(o => o.SiloName = $"{role}-{Environment.ProcessId}");
            silo.Configure<EndpointOptions>(o =>
            {
                // Unset ports are picked free at start: replicas of one process on one machine must not collide,
                // and clients find gateways through the membership table, not a fixed port.
                o.SiloPort = configuration.GetValue<int?>("Orleans:Endpoints:SiloPort") ?? FreePort();
                o.GatewayPort = configuration.GetValue<int?>("Orleans:Endpoints:GatewayPort") ?? (role == SiloRoles.Control ? FreePort() : 0);
                o.AdvertisedIPAddress = AdvertisedAddress(configuration);
                if (!IPAddress.IsLoopback(o.AdvertisedIPAddress))
                {
                    // In a container the advertised address need not be one the process can bind (Container Apps'
                    // Consumption profile shows a virtual one): listen on every interface, on the same ports.
                    o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, o.SiloPort);
                    o.GatewayListeningEndpoint = o.GatewayPort == 0 ? null : new IPEndPoint(IPAddress.Any, o.GatewayPort);
                }
            });
            silo.UseAzureStorageClustering(options => options.Configure<TableServiceClient>((o, tables) =>
            {
                o.TableName = StorageNames.ClusteringTable;
                o.TableServiceClient = tables;
            }));
            silo.AddAzureBlobGrainStorage(StorageNames.GrainState, options => options.Configure<BlobServiceClient>((o, blobs) =>
            {
                o.ContainerName = StorageNames.GrainStateContainer;
                o.BlobServiceClient = blobs;
                o.GrainStorageSerializer = new JsonGrainStateSerializer();
            }));
            silo.UseSiloMetadata(siloMetadata);
            silo.Services.AddPlacementFilter<Placement.WorkerPlacementFilterStrategy, Placement.WorkerPlacementFilterDirector>(ServiceLifetime.Singleton);
            silo.AddActivityPropagation();
        });
        return builder;
    }

    /// <summary>Connects this process to the cluster as an Orleans client (the gateway).</summary>
    public static IHostApplicationBuilder AddMlGridClusterClient(this IHostApplicationBuilder builder)
    {
        builder.AddMlGridStorage();
        var configuration = builder.Configuration;
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId(configuration);
                o.ServiceId = ServiceId;
            });
            // A restarted control plane comes back at a new address (new ports locally, a new replica address in Azure):
            // look for it often, so routing catches up within seconds.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            client.UseAzureStorageClustering(options => options.Configure<TableServiceClient>((o, tables) =>
            {
                o.TableName = StorageNames.ClusteringTable;
                o.TableServiceClient = tables;
            }));
            client.AddActivityPropagation();
        });
        return builder;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ClusterId(IConfiguration configuration) =>
        configuration["Orleans:ClusterId"] is { Length: > 0 } id ? id : "mlgrid-local";

    /// <summary>The configuration key of the address other silos reach this one at.</summary>
    public const string AdvertisedAddressKey = "Orleans:Endpoints:AdvertisedIPAddress";

    /// <summary>
    /// The address other silos (and, for a worker, the gateways) reach this process at: the configured one; with
    /// <c>auto</c>, this host's own IPv4 address (a container replica's, in Azure Container Apps); loopback when unset,
    /// for a cluster on one machine.
    /// </summary>
    public static IPAddress AdvertisedAddress(IConfiguration configuration)
    {
        var configured = configuration[AdvertisedAddressKey];
        if (string.IsNullOrEmpty(configured))
        {
            return IPAddress.Loopback;
        }

        if (!string.Equals(configured, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.TryParse(configured, out var address)
                ? address
                : throw new InvalidOperationException($"{AdvertisedAddressKey} is '{configured}': give an IP address, or 'auto' to use this host's own.");
        }

        var interfaces = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address));
        return PickOwnAddress(interfaces)
            ?? throw new InvalidOperationException($"{AdvertisedAddressKey} is 'auto' but this host has no IPv4 address besides loopback; set the address.");
    }

    /// <summary>
    /// Of a host's interface addresses, the one to advertise: IPv4, not loopback, and a routable one before a
    /// link-local one (169.254.0.0/16, which every replica may share); null when there is none.
    /// </summary>
    public static IPAddress? PickOwnAddress(IEnumerable<IPAddress> addresses)
    {
        var candidates = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)).ToList();
        return candidates.FirstOrDefault(a => !IsLinkLocal(a)) ?? candidates.FirstOrDefault();

        static bool IsLinkLocal(IPAddress address) => address.GetAddressBytes() is [169, 254, _, _];
    }
}
