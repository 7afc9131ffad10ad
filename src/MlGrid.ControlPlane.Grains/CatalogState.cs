namespace MlGrid.ControlPlane.Grains;

/// <summary>A sorted set of names, for listing things without scanning storage.</summary>
public sealed class CatalogState
{
    public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}
