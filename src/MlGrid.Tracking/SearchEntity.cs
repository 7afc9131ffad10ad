namespace MlGrid.Tracking;

/// <summary>What a filter or order-by identifier names: the part before the dot in <c>metrics.rmse</c>.</summary>
public enum SearchEntity
{
    /// <summary>A built-in field of the entity (<c>status</c>, <c>start_time</c>, <c>name</c>…); the default when an identifier has no prefix.</summary>
    Attribute,

    /// <summary>A run's metric, compared by its latest value.</summary>
    Metric,

    /// <summary>A run's parameter.</summary>
    Param,

    /// <summary>A tag of a run, experiment, registered model or model version.</summary>
    Tag,

    /// <summary>A dataset a run took as input: its <c>name</c>, <c>digest</c> or <c>context</c>.</summary>
    Dataset,
}
