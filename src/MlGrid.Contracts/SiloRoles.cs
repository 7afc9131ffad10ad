namespace MlGrid.Contracts;

/// <summary>Silo metadata keys and values that tell control-plane silos from worker silos.</summary>
public static class SiloRoles
{
    public const string RoleKey = "mlgrid.role";
    public const string InferenceUrlKey = "mlgrid.inference-url";
    public const string GpuKey = "mlgrid.gpu";
    public const string Control = "control";
    public const string Worker = "worker";
}
