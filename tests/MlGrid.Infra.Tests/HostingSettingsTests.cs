using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MlGrid.Hosting;
using Orleans.Configuration;

namespace MlGrid.Infra.Tests;

public sealed class HostingSettingsTests
{
    private static TokenCredential NoCredential() => throw new InvalidOperationException("A keyed connection string must not ask for a credential.");

    [Fact]
    public void A_connection_string_with_a_key_is_used_as_it_is()
    {
        var (blobs, tables) = StorageClients.Create(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;",
            NoCredential);

        Assert.Equal("devstoreaccount1", blobs.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10002/devstoreaccount1"), tables.Uri);
    }

    [Fact]
    public void Endpoints_without_a_key_sign_in_with_the_credential()
    {
        var asked = 0;
        var (blobs, tables) = StorageClients.Create(
            "BlobEndpoint=https://stmlgridabc.blob.core.windows.net/;TableEndpoint=https://stmlgridabc.table.core.windows.net/",
            () =>
            {
                asked++;
                return new Azure.Identity.DefaultAzureCredential();
            });

        Assert.Equal(1, asked);
        Assert.Equal("stmlgridabc", blobs.AccountName);
        Assert.Equal(new Uri("https://stmlgridabc.table.core.windows.net/"), tables.Uri);
    }

    [Theory]
    [InlineData("BlobEndpoint=https://stmlgridabc.blob.core.windows.net/")]
    [InlineData("TableEndpoint=https://x.table.core.windows.net/;BlobEndpoint=not a url")]
    [InlineData("AccountName=stmlgridabc")]
    public void A_connection_string_with_neither_key_nor_both_endpoints_is_refused_saying_what_to_give(string connectionString)
    {
        var error = Assert.Throws<InvalidOperationException>(() => StorageClients.Create(connectionString, NoCredential));
        Assert.Contains("BlobEndpoint=https://<account>.blob.core.windows.net/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_advertised_address_is_loopback_by_default_the_given_one_or_this_hosts_own()
    {
        static System.Net.IPAddress Advertised(string? value) => OrleansHosting.AdvertisedAddress(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [OrleansHosting.AdvertisedAddressKey] = value }).Build());

        Assert.Equal(System.Net.IPAddress.Loopback, Advertised(null));
        Assert.Equal(System.Net.IPAddress.Parse("10.1.2.3"), Advertised("10.1.2.3"));
        Assert.Contains("give an IP address, or 'auto'", Assert.Throws<InvalidOperationException>(() => Advertised("silo-1")).Message, StringComparison.Ordinal);

        // 'auto' is this host's own IPv4 address, never loopback (or a clear refusal on a host that has none).
        try
        {
            var auto = Advertised("auto");
            Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, auto.AddressFamily);
            Assert.False(System.Net.IPAddress.IsLoopback(auto));
        }
        catch (InvalidOperationException ex)
        {
            Assert.Contains("no IPv4 address besides loopback", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Auto_advertises_a_routable_ipv4_address_before_a_link_local_one()
    {
        static System.Net.IPAddress? Pick(params string[] addresses) => OrleansHosting.PickOwnAddress(addresses.Select(System.Net.IPAddress.Parse));

        // Container Apps' Consumption profile shows replicas a link-local virtual address beside (or instead of) their own.
        Assert.Equal("100.100.61.190", Pick("127.0.0.1", "169.254.1.240", "fe80::1", "100.100.61.190")?.ToString());
        Assert.Equal("10.0.0.7", Pick("::1", "10.0.0.7", "10.0.0.8")?.ToString());
        Assert.Equal("169.254.1.240", Pick("127.0.0.1", "169.254.1.240")?.ToString());
        Assert.Null(Pick("127.0.0.1", "::1", "fe80::1"));
    }

    [Theory]
    [InlineData(null, "127.0.0.1", "127.0.0.1")]
    [InlineData("10.1.2.3", "10.1.2.3", "0.0.0.0")]
    public void A_silo_listens_on_every_interface_when_it_advertises_an_address_other_than_loopback(string? advertised, string expectedAdvertised, string expectedListening)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:storage"] = "UseDevelopmentStorage=true",
            [OrleansHosting.AdvertisedAddressKey] = advertised,
            ["Orleans:Endpoints:SiloPort"] = "11111",
            ["Orleans:Endpoints:GatewayPort"] = "30000",
        });
        builder.AddMlGridSilo(MlGrid.Contracts.SiloRoles.Control);
        using var host = builder.Build();

        var endpoints = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        Assert.Equal(expectedAdvertised, endpoints.AdvertisedIPAddress.ToString());
        Assert.Equal(11111, endpoints.SiloPort);
        Assert.Equal(30000, endpoints.GatewayPort);
        Assert.Equal(expectedListening, (endpoints.SiloListeningEndpoint?.Address ?? endpoints.AdvertisedIPAddress).ToString());
        Assert.Equal(expectedListening, (endpoints.GatewayListeningEndpoint?.Address ?? endpoints.AdvertisedIPAddress).ToString());
        Assert.Equal(11111, endpoints.SiloListeningEndpoint?.Port ?? endpoints.SiloPort);
    }

    [Theory]
    [InlineData("ASPNETCORE_HTTP_PORTS", "8080", "10.1.2.3", "http://10.1.2.3:8080")]
    [InlineData("ASPNETCORE_URLS", "http://+:9000;http://+:9001", "10.1.2.3", "http://10.1.2.3:9000")]
    [InlineData("ASPNETCORE_URLS", "http://localhost:5123", null, "http://127.0.0.1:5123")]
    [InlineData("ASPNETCORE_URLS", "http://192.168.4.5:7000", "10.1.2.3", "http://192.168.4.5:7000")]
    public void A_worker_publishes_the_http_address_it_listens_on_at_its_advertised_address(string key, string value, string? advertised, string expected)
    {
        // In its container the worker is given no URL setting, only the image's ASPNETCORE_HTTP_PORTS.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [key] = value,
            [OrleansHosting.AdvertisedAddressKey] = advertised,
        }).Build();

        Assert.Equal(expected, MlGrid.Worker.WorkerHostExtensions.ListenUrl(configuration));
    }
}
