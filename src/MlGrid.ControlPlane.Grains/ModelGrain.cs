using Microsoft.Extensions.Logging;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

/// <summary>One version as stored; <see cref="Sha256"/> and <see cref="Signature"/> are null for a version without an ONNX file.</summary>
public sealed record ModelVersionRecord(int Version, string? Sha256, long SizeBytes, ModelSignature? Signature, DateTimeOffset CreatedAt)
{
    public DateTimeOffset UpdatedAt { get; init; }

    public string? Source { get; init; }

    public string? RunId { get; init; }

    public string? Description { get; init; }

    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string Stage { get; init; } = ModelStages.None;

    public string? StatusMessage { get; init; }

    /// <summary>A deleted version keeps its record so that its number is never given again.</summary>
    public bool Deleted { get; init; }
}

public sealed class ModelState
{
    /// <summary>True once the model exists: registered by name, or given its first version.</summary>
    public bool Registered { get; set; }

    public List<ModelVersionRecord> Versions { get; set; } = [];

    public Dictionary<string, int> Aliases { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public string? Description { get; set; }

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);
}

[GrainType("mlgrid.model")]
public sealed class ModelGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<ModelState> state,
    ILogger<ModelGrain> logger) : Grain, IModelGrain
{
    private string Name => this.GetPrimaryKeyString();

    private bool Exists => state.State.Registered || state.State.Versions.Count > 0;

    private IEnumerable<ModelVersionRecord> Live => state.State.Versions.Where(v => !v.Deleted);

    public async Task<ModelVersionInfo> AddVersion(NewModelVersion version)
    {
        Names.EnsureValid(Name, "model");
        await GrainFactory.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).Add(Name);

        var now = DateTimeOffset.UtcNow;
        var record = new ModelVersionRecord(state.State.Versions.Count + 1, version.Sha256, version.SizeBytes, version.Signature, now)
        {
            UpdatedAt = now,
            Source = version.Source,
            RunId = version.RunId,
            Description = version.Description,
            Tags = (version.Tags ?? []).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
            StatusMessage = version.StatusMessage,
        };
        await ChangeAsync(s =>
        {
            if (!Exists)
            {
                s.CreatedAt = now;
            }

            s.Registered = true;
            s.UpdatedAt = now;
            s.Versions.Add(record);
        });

        if (record.RunId is { } runId)
        {
            await RecordLineageAsync(record.Version, runId);
        }

        return ToInfo(record);
    }

    public async Task<ModelInfo> Register(string? description, IReadOnlyList<TrackingTag> tags)
    {
        Names.EnsureValid(Name, "model");
        if (Exists)
        {
            throw RequestException.AlreadyExists($"Registered Model (name={Name}) already exists.");
        }

        await GrainFactory.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).Add(Name);
        var now = DateTimeOffset.UtcNow;
        await ChangeAsync(s =>
        {
            s.Registered = true;
            s.CreatedAt = now;
            s.UpdatedAt = now;
            s.Description = description;
            s.Tags = tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        });
        return ToModelInfo();
    }

    public Task<ModelInfo?> Get() => Task.FromResult(Exists ? ToModelInfo() : null);

    public async Task<ModelInfo> Describe(string? description)
    {
        EnsureExists();
        await ChangeAsync(s =>
        {
            s.Description = description;
            s.UpdatedAt = DateTimeOffset.UtcNow;
        });
        return ToModelInfo();
    }

    public async Task SetTag(TrackingTag tag)
    {
        EnsureExists();
        await ChangeAsync(s =>
        {
            s.Tags[tag.Key] = tag.Value;
            s.UpdatedAt = DateTimeOffset.UtcNow;
        });
    }

    public async Task DeleteTag(string key)
    {
        EnsureExists();
        if (state.State.Tags.ContainsKey(key))
        {
            await ChangeAsync(s =>
            {
                s.Tags.Remove(key);
                s.UpdatedAt = DateTimeOffset.UtcNow;
            });
        }
    }

    public async Task Delete()
    {
        EnsureExists();
        var previous = state.State;
        state.State = new ModelState();
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            throw;
        }

        await GrainFactory.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).Remove(Name);
        logger.LogInformation("Model {Model} deleted with its {Count} versions", Name, previous.Versions.Count(v => !v.Deleted));
    }

    public Task<ModelVersionInfo?> GetVersion(string versionOrAlias)
    {
        var record = Find(versionOrAlias);
        return Task.FromResult(record is null ? null : ToInfo(record));
    }

    public async Task<ModelVersionInfo> DescribeVersion(int version, string? description)
    {
        var record = await ChangeVersionAsync(version, v => v with { Description = description });
        return ToInfo(record);
    }

    public async Task DeleteVersion(int version)
    {
        var record = RequireVersion(version);
        var now = DateTimeOffset.UtcNow;
        await ChangeAsync(s =>
        {
            s.Versions[s.Versions.IndexOf(record)] = record with { Deleted = true, UpdatedAt = now };
            foreach (var alias in s.Aliases.Where(a => a.Value == version).Select(a => a.Key).ToList())
            {
                s.Aliases.Remove(alias);
            }

            s.UpdatedAt = now;
        });
    }

    public async Task SetVersionTag(int version, TrackingTag tag)
    {
        await ChangeVersionAsync(version, v => v with
        {
            Tags = new Dictionary<string, string>(v.Tags, StringComparer.Ordinal) { [tag.Key] = tag.Value },
        });
    }

    public async Task DeleteVersionTag(int version, string key)
    {
        if (RequireVersion(version).Tags.ContainsKey(key))
        {
            await ChangeVersionAsync(version, v =>
            {
                var tags = new Dictionary<string, string>(v.Tags, StringComparer.Ordinal);
                tags.Remove(key);
                return v with { Tags = tags };
            });
        }
    }

    public async Task<ModelVersionInfo> TransitionStage(int version, string stage, bool archiveExisting)
    {
        var canonical = ModelStages.Canonical(stage)
            ?? throw RequestException.Invalid($"Invalid Model Version stage: {stage}. Value must be one of {string.Join(", ", ModelStages.All)}.");
        var record = RequireVersion(version);
        var now = DateTimeOffset.UtcNow;
        var archive = archiveExisting && canonical is ModelStages.Staging or ModelStages.Production;
        await ChangeAsync(s =>
        {
            for (var i = 0; i < s.Versions.Count; i++)
            {
                var v = s.Versions[i];
                if (v.Version == version)
                {
                    s.Versions[i] = v with { Stage = canonical, UpdatedAt = now };
                }
                else if (archive && !v.Deleted && v.Stage == canonical)
                {
                    s.Versions[i] = v with { Stage = ModelStages.Archived, UpdatedAt = now };
                }
            }

            s.UpdatedAt = now;
        });
        return ToInfo(state.State.Versions.First(v => v.Version == record.Version));
    }

    public async Task<ModelVersionInfo> SetAlias(string alias, int version)
    {
        EnsureValidAlias(alias);
        var record = Live.FirstOrDefault(v => v.Version == version)
            ?? throw RequestException.NotFound($"Model '{Name}' has no version {version}.");

        if (state.State.Aliases.TryGetValue(alias, out var current) && current == version)
        {
            return ToInfo(record);
        }

        await ChangeAsync(s =>
        {
            s.Aliases[alias] = version;
            s.UpdatedAt = DateTimeOffset.UtcNow;
        });
        return ToInfo(record);
    }

    public async Task<bool> DeleteAlias(string alias)
    {
        if (!state.State.Aliases.ContainsKey(alias))
        {
            return false;
        }

        await ChangeAsync(s =>
        {
            s.Aliases.Remove(alias);
            s.UpdatedAt = DateTimeOffset.UtcNow;
        });
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

    /// <summary>
    /// Records the version as a use of the dataset versions its run logged as inputs. The version is already
    /// registered, so a failure here is logged rather than failing the call (a retry would register it twice).
    /// </summary>
    private async Task RecordLineageAsync(int version, string runId)
    {
        try
        {
            var run = await GrainFactory.GetGrain<IRunGrain>(runId).Get();
            var datasets = run?.Inputs.Select(i => i.DatasetVersion).OfType<DatasetVersionRef>().Distinct().ToList() ?? [];
            var use = new DatasetUse(DatasetUseKinds.ModelVersion, $"{Name}/{version}", Name, runId, DateTimeOffset.UtcNow);
            await Task.WhenAll(datasets.Select(d => GrainFactory.GetGrain<IDatasetGrain>(d.Name).RecordUse(d.Version, use)));
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Model {Model} version {Version}: the lineage of run {RunId}'s datasets could not be recorded", Name, version, runId);
        }
    }

    private void EnsureExists()
    {
        if (!Exists)
        {
            throw RequestException.NotFound($"Registered Model with name={Name} not found");
        }
    }

    private ModelVersionRecord RequireVersion(int version)
    {
        EnsureExists();
        return Live.FirstOrDefault(v => v.Version == version)
            ?? throw RequestException.NotFound($"Model Version (name={Name}, version={version}) not found");
    }

    private async Task<ModelVersionRecord> ChangeVersionAsync(int version, Func<ModelVersionRecord, ModelVersionRecord> change)
    {
        var record = RequireVersion(version);
        var now = DateTimeOffset.UtcNow;
        var changed = change(record) with { UpdatedAt = now };
        await ChangeAsync(s => s.Versions[s.Versions.IndexOf(record)] = changed);
        return changed;
    }

    /// <summary>Applies <paramref name="change"/> to a copy of the state and persists it; the state is unchanged if the write fails.</summary>
    private async Task ChangeAsync(Action<ModelState> change)
    {
        var previous = state.State;
        var next = new ModelState
        {
            Registered = previous.Registered,
            Versions = [.. previous.Versions],
            Aliases = new Dictionary<string, int>(previous.Aliases),
            CreatedAt = previous.CreatedAt,
            UpdatedAt = previous.UpdatedAt,
            Description = previous.Description,
            Tags = new Dictionary<string, string>(previous.Tags, StringComparer.Ordinal),
        };
        change(next);
        await state.ReplaceAsync(next);
    }

    private ModelVersionRecord? Find(string versionOrAlias)
    {
        if (int.TryParse(versionOrAlias, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return Live.FirstOrDefault(v => v.Version == number);
        }

        return state.State.Aliases.TryGetValue(versionOrAlias, out var aliased)
            ? Live.FirstOrDefault(v => v.Version == aliased)
            : null;
    }

    private ModelInfo ToModelInfo()
    {
        var versions = Live.Select(ToInfo).ToList();
        return new ModelInfo(Name, versions.Count == 0 ? null : versions[^1].Version, new Dictionary<string, int>(state.State.Aliases), versions, state.State.CreatedAt)
        {
            UpdatedAt = state.State.UpdatedAt,
            Description = state.State.Description,
            Tags = Tags(state.State.Tags),
        };
    }

    private ModelVersionInfo ToInfo(ModelVersionRecord record) => new(
        Name,
        record.Version,
        record.Sha256,
        record.SizeBytes,
        record.Signature,
        record.CreatedAt,
        state.State.Aliases.Where(a => a.Value == record.Version).Select(a => a.Key).Order(StringComparer.Ordinal).ToList())
    {
        UpdatedAt = record.UpdatedAt == default ? record.CreatedAt : record.UpdatedAt,
        Source = record.Source,
        RunId = record.RunId,
        Description = record.Description,
        Tags = Tags(record.Tags),
        Stage = record.Stage,
        StatusMessage = record.StatusMessage,
    };

    private static List<TrackingTag> Tags(IReadOnlyDictionary<string, string> tags) =>
        [.. tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new TrackingTag(t.Key, t.Value))];
}
