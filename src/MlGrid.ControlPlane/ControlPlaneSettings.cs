using MlGrid.ControlPlane.Apis;
using MlGrid.ControlPlane.Apis.Mlflow;
using MlGrid.ControlPlane.Governance;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane;

/// <summary>Everything the control plane reads from configuration; the Azure deployment is checked against it.</summary>
public static class ControlPlaneSettings
{
    public static ServiceSettingsCatalog Catalog { get; } = new(
        "controlplane",
        [.. ServiceSettings.Common, .. ServiceSettings.Silo, new($"{GovernanceOptions.Section}:InternalKey", true, "the key gateways prove their calls with")],
        [
            new(GovernanceOptions.Section, typeof(GovernanceOptions)),
            new(ModelUploadOptions.Section, typeof(ModelUploadOptions)),
            new(DatasetUploadOptions.Section, typeof(DatasetUploadOptions)),
            new(MlflowArtifactOptions.Section, typeof(MlflowArtifactOptions)),
        ]);
}
