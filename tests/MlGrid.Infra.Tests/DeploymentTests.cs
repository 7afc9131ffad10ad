using System.Text.Json;
using System.Text.RegularExpressions;
using MlGrid.ControlPlane;
using MlGrid.Gateway;
using MlGrid.Hosting;
using MlGrid.Worker;

namespace MlGrid.Infra.Tests;

public sealed partial class DeploymentTests
{
    private static readonly Dictionary<string, ServiceSettingsCatalog> Services = new(StringComparer.Ordinal)
    {
        ["controlplane"] = ControlPlaneSettings.Catalog,
        ["worker"] = WorkerSettings.Catalog,
        ["gateway"] = GatewaySettings.Catalog,
    };

    [Fact]
    public void The_bicep_builds_and_lints_without_a_single_warning()
    {
        var (buildExit, _, buildErrors) = Bicep.Run("build", Bicep.MainFile, "--stdout");
        Assert.True(buildExit == 0, buildErrors);
        Assert.Equal("", buildErrors.Trim());

        var (lintExit, lintOut, lintErrors) = Bicep.Run("lint", Bicep.MainFile);
        Assert.True(lintExit == 0, lintOut + lintErrors);
        Assert.Equal("", (lintOut + lintErrors).Trim());
    }

    [Fact]
    public void Every_setting_an_app_is_given_is_one_its_service_reads_and_every_required_one_is_given()
    {
        var apps = ContainerApps();
        Assert.Equal(Services.Keys.Order(), apps.Keys.Order());
        foreach (var (service, app) in apps)
        {
            var catalog = Services[service];
            var keys = app.Settings.Select(s => s.Replace("__", ":", StringComparison.Ordinal)).ToList();
            var unread = keys.Where(k => !catalog.Reads(k)).ToList();
            Assert.True(unread.Count == 0, $"{service} is given settings it does not read: {string.Join(", ", unread)}");
            var missing = catalog.Settings.Where(s => s.Required && !keys.Contains(s.Key, StringComparer.OrdinalIgnoreCase)).Select(s => s.Key).ToList();
            Assert.True(missing.Count == 0, $"{service} needs settings the deployment does not give: {string.Join(", ", missing)}");
            Assert.Equal(keys.Count, keys.Distinct(StringComparer.OrdinalIgnoreCase).Count());

            var undefined = app.SecretRefs.Where(r => !app.Secrets.Contains(r)).ToList();
            Assert.True(undefined.Count == 0, $"{service} refers to secrets it does not define: {string.Join(", ", undefined)}");
        }
    }

    [Fact]
    public void The_catalog_check_refuses_a_setting_no_service_reads()
    {
        Assert.True(WorkerSettings.Catalog.Reads("Worker:TrainingSlots"));
        Assert.True(WorkerSettings.Catalog.Reads("worker:trainingslots"));
        Assert.False(WorkerSettings.Catalog.Reads("Worker:TrainingSlot"));
        Assert.False(WorkerSettings.Catalog.Reads("Gateway:AdminKey"));
        Assert.True(GatewaySettings.Catalog.Reads("Gateway:AdminKey"));
        Assert.False(ControlPlaneSettings.Catalog.Reads("services:controlplane:http:0"));
    }

    [Fact]
    public void Only_the_gateway_is_reachable_from_outside_and_workers_run_on_the_gpu_profile()
    {
        var apps = ContainerApps();
        Assert.Equal("'external'", apps["gateway"].Ingress);
        Assert.Equal("'internal'", apps["controlplane"].Ingress);
        Assert.Equal("'none'", apps["worker"].Ingress);
        Assert.Contains("gpuProfileName", apps["worker"].WorkloadProfile, StringComparison.Ordinal);
        Assert.Contains("Consumption", apps["gateway"].WorkloadProfile, StringComparison.Ordinal);

        // Storage is reached with the managed identity only.
        var storage = Resource(Nested("mlgrid").GetProperty("properties").GetProperty("template"), "storage");
        var account = storage.GetProperty("properties").GetProperty("template").GetProperty("resources").EnumerateArray()
            .Single(r => r.GetProperty("type").GetString() == "Microsoft.Storage/storageAccounts");
        Assert.False(account.GetProperty("properties").GetProperty("allowSharedKeyAccess").GetBoolean());

        // So is Application Insights: local (key-only) auth off, the identity may publish.
        var monitoring = Resource(Nested("mlgrid").GetProperty("properties").GetProperty("template"), "monitoring").GetProperty("properties").GetProperty("template");
        var component = Resources(monitoring).Single(r => r.GetProperty("type").GetString() == "Microsoft.Insights/components");
        Assert.True(component.GetProperty("properties").GetProperty("DisableLocalAuth").GetBoolean());
        var publisher = Resources(monitoring).Single(r => r.GetProperty("type").GetString() == "Microsoft.Authorization/roleAssignments");
        Assert.Contains("3913510d-42f4-4e42-8a64-420c390055eb", monitoring.GetProperty("variables").GetProperty("monitoringMetricsPublisher").GetString(), StringComparison.Ordinal);
        Assert.Contains("monitoringMetricsPublisher", publisher.GetProperty("properties").GetProperty("roleDefinitionId").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Silos_advertise_their_own_address_on_fixed_ports_and_the_gateway_finds_the_control_plane_by_its_app_name()
    {
        var apps = ContainerApps();
        foreach (var silo in new[] { "controlplane", "worker" })
        {
            Assert.Equal("auto", apps[silo].Literals["Orleans__Endpoints__AdvertisedIPAddress"]);
            Assert.Equal("11111", apps[silo].Literals["Orleans__Endpoints__SiloPort"]);
        }

        // Only the control plane is a gateway for Orleans clients (the gateway app); workers serve HTTP on the image's port.
        Assert.Equal("30000", apps["controlplane"].Literals["Orleans__Endpoints__GatewayPort"]);
        Assert.DoesNotContain("Orleans__Endpoints__GatewayPort", apps["worker"].Settings);
        Assert.DoesNotContain("Orleans__Endpoints__AdvertisedIPAddress", apps["gateway"].Settings);

        var template = Nested("mlgrid").GetProperty("properties").GetProperty("template");
        Assert.Contains("'services__controlplane__http__0', 'value', format('http://{0}', variables('controlPlaneName'))", apps["gateway"].Expression, StringComparison.Ordinal);
        Assert.Equal("[variables('controlPlaneName')]", Resource(template, "controlplane").GetProperty("properties").GetProperty("parameters").GetProperty("name").GetProperty("value").GetString());
        Assert.Equal("controlplane", template.GetProperty("variables").GetProperty("controlPlaneName").GetString());
    }

    [Fact]
    public void The_control_plane_silo_gets_a_dedicated_node_unless_consumption_is_chosen()
    {
        // Orleans silos on Container Apps' Consumption profile have been reported unreachable from other replicas;
        // by default the control plane runs on a one-node Dedicated profile of its own.
        var parameter = Bicep.Template.GetProperty("parameters").GetProperty("controlPlaneProfileType");
        Assert.Equal("D4", parameter.GetProperty("defaultValue").GetString());
        Assert.Contains("Consumption", parameter.GetProperty("allowedValues").EnumerateArray().Select(v => v.GetString()));

        Assert.Contains("siloProfileName", ContainerApps()["controlplane"].WorkloadProfile, StringComparison.Ordinal);
        var environment = Resource(Nested("mlgrid").GetProperty("properties").GetProperty("template"), "environment").GetProperty("properties");
        Assert.Contains("equals(parameters('controlPlaneProfileType'), 'Consumption')", environment.GetProperty("parameters").GetProperty("siloProfileType").GetString(), StringComparison.Ordinal);
        var managed = Resources(environment.GetProperty("template")).Single(r => r.GetProperty("type").GetString() == "Microsoft.App/managedEnvironments");
        var profiles = managed.GetProperty("properties").GetProperty("workloadProfiles").GetString()!;
        Assert.Contains("createObject('name', 'silo', 'workloadProfileType', parameters('siloProfileType'), 'minimumCount', 1, 'maximumCount', 1)", profiles, StringComparison.Ordinal);
    }

    [Fact]
    public void Azure_yaml_deploys_each_service_from_its_project_to_the_app_of_that_name()
    {
        var yaml = File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, "azure.yaml"));
        var services = ServiceBlock().Matches(yaml).Select(m => (Name: m.Groups["name"].Value, Project: m.Groups["project"].Value)).ToList();
        Assert.Equal(["controlplane", "gateway", "worker"], services.Select(s => s.Name).Order());
        foreach (var (name, project) in services)
        {
            var directory = Path.GetFullPath(Path.Combine(Bicep.RepositoryRoot, project));
            Assert.True(Directory.EnumerateFiles(directory, "*.csproj").Any(), $"{name}: no project in {directory}");
        }

        Assert.Contains("path: infra", yaml, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Bicep.RepositoryRoot, "infra", "main.parameters.json")));
    }

    [Fact]
    public void The_parameters_file_gives_only_declared_parameters_and_every_one_without_a_default()
    {
        using var file = JsonDocument.Parse(File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, "infra", "main.parameters.json")));
        var given = file.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToList();
        var declared = Bicep.Template.GetProperty("parameters").EnumerateObject().ToList();

        Assert.Empty(given.Except(declared.Select(p => p.Name)));
        var needed = declared.Where(p => !p.Value.TryGetProperty("defaultValue", out _)).Select(p => p.Name).ToList();
        Assert.Empty(needed.Except(given));
        Assert.Contains("adminKey", needed);
    }

    [Fact]
    public void Azd_finds_the_registry_and_each_app_by_its_service_name()
    {
        // azd pushes images to this output's registry and deploys to the app tagged azd-service-name: <service>.
        var outputs = Bicep.Template.GetProperty("outputs");
        Assert.True(outputs.TryGetProperty("AZURE_CONTAINER_REGISTRY_ENDPOINT", out _));
        Assert.True(outputs.TryGetProperty("AZURE_RESOURCE_GROUP", out _));

        var module = Resources(Nested("mlgrid").GetProperty("properties").GetProperty("template"))
            .First(r => r.GetProperty("type").GetString() == "Microsoft.Resources/deployments"
                && r.GetProperty("properties").GetProperty("parameters").TryGetProperty("serviceName", out _))
            .GetProperty("properties").GetProperty("template");
        var app = Resources(module).Single(r => r.GetProperty("type").GetString() == "Microsoft.App/containerApps");
        Assert.Contains("'azd-service-name', parameters('serviceName')", app.GetProperty("tags").GetString(), StringComparison.Ordinal);
        Assert.Equal(Services.Keys.Order(), ContainerApps().Keys.Order());
    }

    /// <summary>A container app as the template gives it: the setting names, secrets, ingress and workload profile.</summary>
    private sealed record App(
        IReadOnlyList<string> Settings, IReadOnlyDictionary<string, string> Literals, IReadOnlyList<string> SecretRefs, IReadOnlyList<string> Secrets,
        string Ingress, string WorkloadProfile, string Expression);

    private static Dictionary<string, App> ContainerApps()
    {
        var group = Nested("mlgrid");
        var template = group.GetProperty("properties").GetProperty("template");
        var variables = template.GetProperty("variables");
        var apps = new Dictionary<string, App>(StringComparer.Ordinal);
        foreach (var module in Resources(template).Where(r => r.GetProperty("type").GetString() == "Microsoft.Resources/deployments"))
        {
            var parameters = module.GetProperty("properties").GetProperty("parameters");
            if (!parameters.TryGetProperty("env", out var env))
            {
                continue;
            }

            var service = parameters.GetProperty("serviceName").GetProperty("value").GetString()!;
            var expression = env.GetProperty("value").ToString();
            var settings = SettingNames(expression, variables);

            // The module adds settings of its own (the identity's client id).
            var inner = module.GetProperty("properties").GetProperty("template");
            var containerApp = Resources(inner).Single(r => r.GetProperty("type").GetString() == "Microsoft.App/containerApps");
            var containerEnv = containerApp.GetProperty("properties").GetProperty("template").GetProperty("containers")[0].GetProperty("env").ToString();
            settings.AddRange(SettingNames(containerEnv, inner.TryGetProperty("variables", out var innerVariables) ? innerVariables : default));

            var secretRefs = SecretRef().Matches(expression).Select(m => m.Groups[1].Value).ToList();
            var secrets = parameters.TryGetProperty("secrets", out var given) && given.GetProperty("value").ValueKind == JsonValueKind.Object
                ? given.GetProperty("value").EnumerateObject().Select(p => p.Name).ToList()
                : [];
            var literals = LiteralValue().Matches(expression).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            foreach (var entry in VariableEntries(expression, variables).Where(e => e.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String))
            {
                literals[entry.GetProperty("name").GetString()!] = entry.GetProperty("value").GetString()!;
            }

            apps[service] = new App(settings, literals, secretRefs, secrets,
                parameters.GetProperty("ingress").GetProperty("value").ToString() is var ingress && ingress.StartsWith('[') ? ingress : $"'{ingress}'",
                parameters.GetProperty("workloadProfileName").GetProperty("value").ToString(), expression);
        }

        return apps;
    }

    /// <summary>The names in an env expression: createObject('name', 'X', …) entries and the entries of variables it concatenates.</summary>
    private static List<string> SettingNames(string expression, JsonElement variables) =>
        [.. NameEntry().Matches(expression).Select(m => m.Groups[1].Value), .. VariableEntries(expression, variables).Select(e => e.GetProperty("name").GetString()!)];

    /// <summary>The {name, …} entries of the template variables an env expression concatenates.</summary>
    private static IEnumerable<JsonElement> VariableEntries(string expression, JsonElement variables) =>
        variables.ValueKind != JsonValueKind.Object
            ? []
            : VariableUse().Matches(expression)
                .Select(m => variables.TryGetProperty(m.Groups[1].Value, out var value) ? value : default)
                .Where(value => value.ValueKind == JsonValueKind.Array)
                .SelectMany(value => value.EnumerateArray())
                .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out _));

    private static JsonElement Nested(string name) => Resource(Bicep.Template, name);

    private static JsonElement Resource(JsonElement template, string name) =>
        Resources(template).Single(r => r.TryGetProperty("name", out var n) && n.GetString() == name);

    private static IEnumerable<JsonElement> Resources(JsonElement template)
    {
        var resources = template.GetProperty("resources");
        return resources.ValueKind == JsonValueKind.Object ? resources.EnumerateObject().Select(p => p.Value) : resources.EnumerateArray();
    }

    [GeneratedRegex(@"createObject\('name', '([^']+)'")]
    private static partial Regex NameEntry();

    [GeneratedRegex(@"createObject\('name', '([^']+)', 'value', '([^']*)'\)")]
    private static partial Regex LiteralValue();

    [GeneratedRegex(@"variables\('([^']+)'\)")]
    private static partial Regex VariableUse();

    [GeneratedRegex(@"'secretRef', '([^']+)'")]
    private static partial Regex SecretRef();

    [GeneratedRegex(@"^  (?<name>[a-z]+):\s*\n    project: (?<project>\S+)", RegexOptions.Multiline)]
    private static partial Regex ServiceBlock();
}
