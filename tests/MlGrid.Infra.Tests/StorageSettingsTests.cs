using Azure.Core;
using Microsoft.Extensions.Configuration;
using MlGrid.Hosting;

namespace MlGrid.Infra.Tests;

public sealed class StorageSettingsTests
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
}
