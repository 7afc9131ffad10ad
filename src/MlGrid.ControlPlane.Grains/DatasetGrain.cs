using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

public sealed class DatasetState
{
    public DateTimeOffset CreatedAt { get; set; }

    public List<DatasetVersionInfo> Versions { get; set; } = [];

    /// <summary>Lineage: what used each version, by version number.</summary>
    public Dictionary<int, List<DatasetUse>> Uses { get; set; } = [];
}

/// <summary>
/// A dataset's versions. A version never changes once made; uploading bytes that an earlier version already holds
/// answers with that version, so a retried upload does not make a second one.
/// </summary>
[GrainType("mlgrid.dataset")]
public sealed class DatasetGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<DatasetState> state) : Grain, IDatasetGrain
{
    private string Name => this.GetPrimaryKeyString();

    public async Task<DatasetVersionAdded> AddVersion(NewDatasetVersion version)
    {
        Names.EnsureValid(Name, "dataset");
        if (state.State.Versions.FirstOrDefault(v => v.Sha256 == version.Sha256) is { } existing)
        {
            return new DatasetVersionAdded(existing, Created: false);
        }

        await GrainFactory.GetGrain<IDatasetCatalogGrain>(IDatasetCatalogGrain.Key).Add(Name);
        var now = DateTimeOffset.UtcNow;
        var created = state.State.Versions.Count == 0 ? now : state.State.CreatedAt;
        var info = new DatasetVersionInfo(Name, state.State.Versions.Count + 1, version.Sha256, version.SizeBytes, version.Format,
            version.Rows, version.Columns, now);
        var previous = state.State;
        state.State = new DatasetState { CreatedAt = created, Versions = [.. previous.Versions, info], Uses = previous.Uses };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            throw;
        }

        return new DatasetVersionAdded(info, Created: true);
    }

    public Task<DatasetInfo?> Get() => Task.FromResult(state.State.Versions.Count == 0
        ? null
        : new DatasetInfo(Name, state.State.Versions[^1].Version, [.. state.State.Versions], state.State.CreatedAt));

    public Task<DatasetVersionInfo?> GetVersion(int version) =>
        Task.FromResult(state.State.Versions.FirstOrDefault(v => v.Version == version));

    public async Task RecordUse(int version, DatasetUse use)
    {
        EnsureVersion(version);
        var uses = state.State.Uses.GetValueOrDefault(version) ?? [];
        if (uses.Any(u => u.Kind == use.Kind && u.Id == use.Id))
        {
            return;
        }

        var previous = state.State.Uses;
        state.State.Uses = new Dictionary<int, List<DatasetUse>>(previous) { [version] = [.. uses, use] };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Uses = previous;
            throw;
        }
    }

    public Task<IReadOnlyList<DatasetUse>> Uses(int version)
    {
        EnsureVersion(version);
        return Task.FromResult<IReadOnlyList<DatasetUse>>([.. state.State.Uses.GetValueOrDefault(version) ?? []]);
    }

    private void EnsureVersion(int version)
    {
        if (!state.State.Versions.Any(v => v.Version == version))
        {
            throw RequestException.NotFound($"Dataset '{Name}' has no version {version}.");
        }
    }
}

[GrainType("mlgrid.dataset-catalog")]
public sealed class DatasetCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<CatalogState> state) : Grain, IDatasetCatalogGrain
{
    public Task Add(string name) => Catalog.AddAsync(state, name);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Names]);
}
