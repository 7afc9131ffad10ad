namespace MlGrid.Tracking;

/// <summary>
/// One run, experiment, registered model or model version as filters and order-by clauses see it. Callers implement it
/// per entity. Attribute keys arrive canonical: <c>start_time</c> for <c>created</c>, <c>run_name</c> for
/// <c>`run name`</c>, <c>last_updated_timestamp</c> for <c>timestamp</c>. A null answer means the value is missing, and
/// a missing value matches no comparison, not even <c>!=</c>.
/// </summary>
public interface ISearchTarget
{
    /// <summary>A metric's latest value (<see cref="SearchEntity.Metric"/>) or a numeric attribute (<c>start_time</c>, <c>creation_time</c>, <c>version_number</c>…).</summary>
    double? Number(SearchEntity entity, string key);

    /// <summary>A param, a tag, or a string attribute (<c>status</c>, <c>run_id</c>, <c>name</c>, <c>experiment_id</c>…).</summary>
    string? Text(SearchEntity entity, string key);

    /// <summary>The run's dataset inputs; other entities have none.</summary>
    IEnumerable<SearchDataset> Datasets => [];
}
