using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MlGrid.Contracts;

namespace MlGrid.Hosting;

/// <summary>Blob and table clients for the one storage account MlGrid uses (Azurite locally).</summary>
public static class StorageClients
{
    /// <summary>
    /// Registers <see cref="BlobServiceClient"/> and <see cref="TableServiceClient"/> built from the
    /// <c>ConnectionStrings:storage</c> connection string. One with a key (Azurite's, locally) is used as it is; one
    /// that names only endpoints (<c>BlobEndpoint=…;TableEndpoint=…</c>, as the Azure deployment gives it) signs in
    /// with <see cref="DefaultAzureCredential"/>: the managed identity named by <c>AZURE_CLIENT_ID</c> in Azure, a
    /// developer's Azure CLI login elsewhere.
    /// </summary>
    public static IHostApplicationBuilder AddMlGridStorage(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(StorageNames.ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"No storage is configured: set ConnectionStrings__{StorageNames.ConnectionName} (the AppHost does this for you).");
        }

        var (blobs, tables) = Create(connectionString, () => new DefaultAzureCredential());
        builder.Services.AddSingleton(blobs);
        builder.Services.AddSingleton(tables);
        builder.Services.AddSingleton<ArtifactStore>();
        return builder;
    }

    /// <summary>The two clients for a connection string; <paramref name="credential"/> is asked for only when the string carries no secret.</summary>
    public static (BlobServiceClient Blobs, TableServiceClient Tables) Create(string connectionString, Func<TokenCredential> credential)
    {
        var parts = Parse(connectionString);
        var keyed = parts.ContainsKey("AccountKey") || parts.ContainsKey("SharedAccessSignature") || parts.ContainsKey("UseDevelopmentStorage");
        if (keyed)
        {
            return (new BlobServiceClient(connectionString), new TableServiceClient(connectionString));
        }

        if (!TryEndpoint(parts, "BlobEndpoint", out var blob) || !TryEndpoint(parts, "TableEndpoint", out var table))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings__{StorageNames.ConnectionName} has no key and does not name both endpoints: give an account key, "
                + "or 'BlobEndpoint=https://<account>.blob.core.windows.net/;TableEndpoint=https://<account>.table.core.windows.net/' to sign in with Entra ID.");
        }

        var token = credential();
        return (new BlobServiceClient(blob, token), new TableServiceClient(table, token));
    }

    private static Dictionary<string, string> Parse(string connectionString) =>
        connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.OrdinalIgnoreCase);

    private static bool TryEndpoint(Dictionary<string, string> parts, string key, out Uri endpoint)
    {
        endpoint = null!;
        return parts.TryGetValue(key, out var value)
            && Uri.TryCreate(value, UriKind.Absolute, out endpoint!)
            && endpoint.Scheme is "https" or "http";
    }
}
