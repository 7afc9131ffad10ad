using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

public sealed record ModelVersionRecord(int Version, string Sha256, long SizeBytes, ModelSignature Signature, DateTimeOffset CreatedAt);

public sealed class ModelState
{
    public List<ModelVersionRecord> Versions { get; set; } = [];

    public Dictionary<string, int> Aliases { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
}

[GrainType("mlgrid.model")]
public sealed class ModelGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<ModelState> state) : Grain, IModelGrain
{
    private string Name => this.GetPrimaryKeyString();

    public async Task<ModelVersionInfo> AddVersion(NewModelVersion version)
    {
        Names.EnsureValid(Name, "model");
        await GrainFactory.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).Add(Name);

        var now = DateTimeOffset.UtcNow;
        if (state.State.Versions.Count == 0)
        {
            state.State.CreatedAt = now;
        }

        var record = new ModelVersionRecord(state.State.Versions.Count + 1, version.Sha256, version.SizeBytes, version.Signature, now);
        state.State.Versions.Add(record);
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Versions.Remove(record);
            throw;
        }

        return ToInfo(record);
    }

    public Task<ModelInfo?> Get()
    {
        if (state.State.Versions.Count == 0)
        {
            return Task.FromResult<ModelInfo?>(null);
        }

        return Task.FromResult<ModelInfo?>(new ModelInfo(
            Name,
            state.State.Versions[^1].Version,
            new Dictionary<string, int>(state.State.Aliases),
            state.State.Versions.Select(ToInfo).ToList(),
            state.State.CreatedAt));
    }

    public Task<ModelVersionInfo?> GetVersion(string versionOrAlias)
    {
        var record = Find(versionOrAlias);
        return Task.FromResult(record is null ? null : ToInfo(record));
    }

    public async Task<ModelVersionInfo> SetAlias(string alias, int version)
    {
        EnsureValidAlias(alias);
        var record = state.State.Versions.FirstOrDefault(v => v.Version == version)
            ?? throw RequestException.NotFound($"Model '{Name}' has no version {version}.");

        if (state.State.Aliases.TryGetValue(alias, out var current) && current == version)
        {
            return ToInfo(record);
        }

        state.State.Aliases.TryGetValue(alias, out var previous);
        state.State.Aliases[alias] = version;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (previous == 0)
            {
                state.State.Aliases.Remove(alias);
            }
            else
            {
                state.State.Aliases[alias] = previous;
            }

            throw;
        }

        return ToInfo(record);
    }

    public async Task<bool> DeleteAlias(string alias)
    {
        if (!state.State.Aliases.Remove(alias, out var previous))
        {
            return false;
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Aliases[alias] = previous;
            throw;
        }

        return true;
    }

    /// <summary>Aliases start with a letter so that they never read as version numbers.</summary>
    internal static void EnsureValidAlias(string alias)
    {
        if (!Names.IsValid(alias) || !char.IsAsciiLetter(alias[0]))
        {
            throw RequestException.Invalid(
                $"'{alias}' is not a valid alias: use 1 to {Names.MaxLength} letters, digits, '-', '_' or '.', starting with a letter.");
        }
    }

    private ModelVersionRecord? Find(string versionOrAlias)
    {
        if (int.TryParse(versionOrAlias, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return state.State.Versions.FirstOrDefault(v => v.Version == number);
        }

        return state.State.Aliases.TryGetValue(versionOrAlias, out var aliased)
            ? state.State.Versions.FirstOrDefault(v => v.Version == aliased)
            : null;
    }

    private ModelVersionInfo ToInfo(ModelVersionRecord record) => new(
        Name,
        record.Version,
        record.Sha256,
        record.SizeBytes,
        record.Signature,
        record.CreatedAt,
        state.State.Aliases.Where(a => a.Value == record.Version).Select(a => a.Key).Order(StringComparer.Ordinal).ToList());
}
