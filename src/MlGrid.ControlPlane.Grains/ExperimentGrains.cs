using System.Globalization;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

public sealed class ExperimentCatalogState
{
    /// <summary>The next id to hand out; MLflow's default experiment is 0.</summary>
    public int NextId { get; set; } = 1;

    /// <summary>Name to id, for active and deleted experiments alike: MLflow keeps a deleted experiment's name taken.</summary>
    public Dictionary<string, string> Ids { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Owns experiment names and ids. A name is reserved here before the experiment grain is written, so two creates of
/// one name cannot both win; a reservation whose experiment never got written is reused by the next create.
/// </summary>
[GrainType("mlgrid.experiment-catalog")]
public sealed class ExperimentCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<ExperimentCatalogState> state) : Grain, IExperimentCatalogGrain
{
    public const string ArtifactScheme = "mlflow-artifacts:/";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var defaultExperiment = GrainFactory.GetGrain<IExperimentGrain>(IExperimentCatalogGrain.DefaultExperimentId);
        if (!state.State.Ids.ContainsValue(IExperimentCatalogGrain.DefaultExperimentId))
        {
            state.State.Ids[IExperimentCatalogGrain.DefaultExperimentName] = IExperimentCatalogGrain.DefaultExperimentId;
            await state.WriteStateAsync(cancellationToken);
        }

        if (await defaultExperiment.Get() is null)
        {
            await defaultExperiment.Initialize(
                new NewExperiment(IExperimentCatalogGrain.DefaultExperimentName, null, []),
                ArtifactScheme + IExperimentCatalogGrain.DefaultExperimentId);
        }
    }

    public async Task<ExperimentInfo> Create(NewExperiment experiment)
    {
        string id;
        if (state.State.Ids.TryGetValue(experiment.Name, out var reserved))
        {
            var existing = await GrainFactory.GetGrain<IExperimentGrain>(reserved).Get();
            if (existing is not null)
            {
                throw RequestException.AlreadyExists(existing.LifecycleStage == LifecycleStages.Deleted
                    ? $"Experiment '{experiment.Name}' already exists in deleted state. Restore it (experiments/restore) or choose another name."
                    : $"Experiment(name={experiment.Name}) already exists.");
            }

            id = reserved;
        }
        else
        {
            id = state.State.NextId.ToString(CultureInfo.InvariantCulture);
            state.State.NextId++;
            state.State.Ids[experiment.Name] = id;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Ids.Remove(experiment.Name);
                state.State.NextId--;
                throw;
            }
        }

        var location = string.IsNullOrEmpty(experiment.ArtifactLocation) ? ArtifactScheme + id : experiment.ArtifactLocation;
        return await GrainFactory.GetGrain<IExperimentGrain>(id).Initialize(experiment, location);
    }

    public Task<string?> Find(string name) =>
        Task.FromResult(state.State.Ids.TryGetValue(name, out var id) ? id : null);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(
        [.. state.State.Ids.Values.OrderBy(id => int.Parse(id, CultureInfo.InvariantCulture))]);

    public async Task Rename(string experimentId, string oldName, string newName)
    {
        if (state.State.Ids.TryGetValue(newName, out var holder))
        {
            if (holder == experimentId)
            {
                return;
            }

            throw RequestException.AlreadyExists($"Experiment(name={newName}) already exists. Choose another name.");
        }

        var previous = new Dictionary<string, string>(state.State.Ids, StringComparer.Ordinal);
        if (state.State.Ids.TryGetValue(oldName, out var current) && current == experimentId)
        {
            state.State.Ids.Remove(oldName);
        }

        state.State.Ids[newName] = experimentId;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Ids = previous;
            throw;
        }
    }
}

public sealed class ExperimentState
{
    public string? Name { get; set; }

    public string ArtifactLocation { get; set; } = "";

    public string LifecycleStage { get; set; } = LifecycleStages.Active;

    public long CreationTime { get; set; }

    public long LastUpdateTime { get; set; }

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    public List<string> RunIds { get; set; } = [];
}

/// <summary>An experiment: name, tags, lifecycle and the ids of its runs. Deleting it marks its runs deleted too, as MLflow does.</summary>
[GrainType("mlgrid.experiment")]
public sealed class ExperimentGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<ExperimentState> state) : Grain, IExperimentGrain
{
    private string Id => this.GetPrimaryKeyString();

    private ExperimentState Current => state.State.Name is null
        ? throw RequestException.NotFound($"No experiment with id={Id} exists.")
        : state.State;

    public async Task<ExperimentInfo> Initialize(NewExperiment experiment, string artifactLocation)
    {
        if (state.State.Name is not null)
        {
            return state.State.Name == experiment.Name
                ? ToInfo()
                : throw RequestException.AlreadyExists($"Experiment id {Id} is already taken by '{state.State.Name}'.");
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        state.State = new ExperimentState
        {
            Name = experiment.Name,
            ArtifactLocation = artifactLocation,
            CreationTime = now,
            LastUpdateTime = now,
            Tags = experiment.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
        };
        await WriteOrForgetAsync();
        return ToInfo();
    }

    public Task<ExperimentInfo?> Get() => Task.FromResult(state.State.Name is null ? null : ToInfo());

    public async Task Rename(string newName)
    {
        var current = Current;
        if (current.Name == newName)
        {
            return;
        }

        var catalog = GrainFactory.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);
        var oldName = current.Name!;
        await catalog.Rename(Id, oldName, newName);
        await ChangeAsync(s => s.Name = newName);
    }

    public async Task Delete()
    {
        if (Id == IExperimentCatalogGrain.DefaultExperimentId)
        {
            throw RequestException.Invalid("The default experiment (id 0) cannot be deleted.");
        }

        if (Current.LifecycleStage == LifecycleStages.Deleted)
        {
            return;
        }

        await ChangeAsync(s => s.LifecycleStage = LifecycleStages.Deleted);
        await Task.WhenAll(state.State.RunIds.Select(r => GrainFactory.GetGrain<IRunGrain>(r).SetLifecycle(LifecycleStages.Deleted)));
    }

    public async Task Restore()
    {
        if (Current.LifecycleStage == LifecycleStages.Active)
        {
            return;
        }

        await ChangeAsync(s => s.LifecycleStage = LifecycleStages.Active);
        await Task.WhenAll(state.State.RunIds.Select(r => GrainFactory.GetGrain<IRunGrain>(r).SetLifecycle(LifecycleStages.Active)));
    }

    public Task SetTag(TrackingTag tag)
    {
        EnsureActive();
        return ChangeAsync(s => s.Tags[tag.Key] = tag.Value);
    }

    public async Task AddRun(string runId)
    {
        EnsureActive();
        if (!state.State.RunIds.Contains(runId))
        {
            await ChangeAsync(s => s.RunIds.Add(runId));
        }
    }

    public Task<IReadOnlyList<string>> Runs() => Task.FromResult<IReadOnlyList<string>>([.. state.State.RunIds]);

    private void EnsureActive()
    {
        if (Current.LifecycleStage != LifecycleStages.Active)
        {
            throw RequestException.InvalidState($"The experiment {Id} must be in the 'active' state. Current state is {state.State.LifecycleStage}. Restore it first.");
        }
    }

    /// <summary>Applies a change to a copy and keeps it only once it is persisted.</summary>
    private async Task ChangeAsync(Action<ExperimentState> change)
    {
        var previous = state.State;
        var next = new ExperimentState
        {
            Name = previous.Name,
            ArtifactLocation = previous.ArtifactLocation,
            LifecycleStage = previous.LifecycleStage,
            CreationTime = previous.CreationTime,
            LastUpdateTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Tags = new Dictionary<string, string>(previous.Tags, StringComparer.Ordinal),
            RunIds = [.. previous.RunIds],
        };
        change(next);
        await state.ReplaceAsync(next);
    }

    private async Task WriteOrForgetAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = new ExperimentState();
            throw;
        }
    }

    private ExperimentInfo ToInfo() => new(
        Id,
        state.State.Name!,
        state.State.ArtifactLocation,
        state.State.LifecycleStage,
        state.State.CreationTime,
        state.State.LastUpdateTime,
        [.. state.State.Tags.Select(t => new TrackingTag(t.Key, t.Value))]);
}
