namespace MlGrid.Hosting;

/// <summary>
/// A setting a service reads, by its configuration key (<c>Section:Name</c>; as an environment variable,
/// <c>Section__Name</c>), and whether a deployment must give it.
/// </summary>
public sealed record ServiceSetting(string Key, bool Required, string Purpose);

/// <summary>An options class bound from a configuration section: any of its public settable properties is a setting.</summary>
public sealed record SettingsSection(string Section, Type Options);

/// <summary>What one service reads from configuration: single settings, and whole options sections.</summary>
public sealed record ServiceSettingsCatalog(string Service, IReadOnlyList<ServiceSetting> Settings, IReadOnlyList<SettingsSection> Sections)
{
    /// <summary>Whether <paramref name="key"/> (colon-separated) is something this service reads.</summary>
    public bool Reads(string key)
    {
        if (Settings.Any(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase)))
        {
            return true;
        }

        foreach (var section in Sections)
        {
            var prefix = section.Section + ":";
            if (key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && section.Options.GetProperty(key[prefix.Length..], System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase) is { CanWrite: true })
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The settings every MlGrid process reads, and those every silo reads; each service adds its own.</summary>
public static class ServiceSettings
{
    /// <summary>Read by every process: where storage is, which cluster to join, where telemetry goes, which identity to sign in as.</summary>
    public static IReadOnlyList<ServiceSetting> Common { get; } =
    [
        new("ConnectionStrings:storage", true, "the storage account: a connection string with a key (Azurite), or BlobEndpoint=…;TableEndpoint=… signed in with Entra ID"),
        new("Orleans:ClusterId", true, "the Orleans cluster every process of one deployment joins"),
        new("APPLICATIONINSIGHTS_CONNECTION_STRING", false, "sends traces, metrics and logs to Application Insights"),
        new("OTEL_EXPORTER_OTLP_ENDPOINT", false, "sends telemetry over OTLP (the Aspire dashboard, locally)"),
        new("OTEL_SERVICE_NAME", false, "the service name telemetry carries"),
        new("AZURE_CLIENT_ID", false, "the user-assigned managed identity DefaultAzureCredential signs in as"),
        new("ASPNETCORE_URLS", false, "the addresses the HTTP server listens on"),
    ];

    /// <summary>Read by control-plane and worker silos: how other silos reach them.</summary>
    public static IReadOnlyList<ServiceSetting> Silo { get; } =
    [
        new(OrleansHosting.AdvertisedAddressKey, true, "the address other silos reach this one at; 'auto' for the host's own"),
        new("Orleans:Endpoints:SiloPort", false, "the silo-to-silo port (a free one when unset)"),
        new("Orleans:Endpoints:GatewayPort", false, "the port cluster clients connect to (a free one when unset)"),
    ];
}
