using MlGrid.Hosting;
using MlGrid.Worker.Grains;

namespace MlGrid.Worker;

/// <summary>Everything a worker reads from configuration; the Azure deployment is checked against it.</summary>
public static class WorkerSettings
{
    public static ServiceSettingsCatalog Catalog { get; } = new(
        "worker",
        [.. ServiceSettings.Common, .. ServiceSettings.Silo],
        [new(ModelHostOptions.Section, typeof(ModelHostOptions))]);
}
