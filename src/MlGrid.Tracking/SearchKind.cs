namespace MlGrid.Tracking;

/// <summary>The four MLflow searches; each has its own attributes, order keys, default order and page limits.</summary>
public enum SearchKind
{
    /// <summary><c>runs/search</c>.</summary>
    Runs,

    /// <summary><c>experiments/search</c>.</summary>
    Experiments,

    /// <summary><c>registered-models/search</c>.</summary>
    RegisteredModels,

    /// <summary><c>model-versions/search</c>.</summary>
    ModelVersions,
}
