namespace MlGrid.Contracts;

/// <summary>Names shared by the AppHost, the silos and the clients for the storage they use.</summary>
public static class StorageNames
{
    /// <summary>The Aspire connection-string name of the storage account (Azurite locally).</summary>
    public const string ConnectionName = "storage";

    /// <summary>Orleans grain storage provider for control-plane state.</summary>
    public const string GrainState = "grain-state";

    /// <summary>Blob container holding grain state.</summary>
    public const string GrainStateContainer = "grain-state";

    /// <summary>Blob container holding content-addressed artifacts (model files).</summary>
    public const string ArtifactContainer = "artifacts";

    /// <summary>Blob container holding MLflow artifacts under their MLflow paths (the artifact proxy's store).</summary>
    public const string MlflowArtifactContainer = "mlflow-artifacts";

    /// <summary>Blob container holding the audit trail's hash chain as append blobs.</summary>
    public const string AuditContainer = "audit";

    /// <summary>Blob container holding runs' metric histories as append blobs.</summary>
    public const string MetricsContainer = "metrics";

    /// <summary>Blob container holding training jobs' logs as append blobs.</summary>
    public const string TrainingLogContainer = "training-logs";

    /// <summary>Azure table holding Orleans cluster membership.</summary>
    public const string ClusteringTable = "mlgridcluster";
}
