using MlGrid.Contracts;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Grains;

public sealed class RunState
{
    public RunInfo? Info { get; set; }

    public Dictionary<string, string> Params { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Each metric's latest point (<see cref="LatestMetric"/>); the history is in <see cref="MetricHistoryStore"/>.</summary>
    public Dictionary<string, MetricPoint> Latest { get; set; } = new(StringComparer.Ordinal);

    public Dictionary<string, MetricCursor> Cursors { get; set; } = new(StringComparer.Ordinal);

    public List<RunDatasetInput> Inputs { get; set; } = [];
}

/// <summary>
/// A tracked run. Metric points are appended to their history before the run's state records the latest values and
/// the history's new end, and both happen before the call answers, so an acknowledged point is never lost.
/// </summary>
[GrainType("mlgrid.run")]
public sealed class RunGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<RunState> state,
    MetricHistoryStore history) : Grain, IRunGrain
{
    public const string RunNameTag = "mlflow.runName";
    public const string UserTag = "mlflow.user";

    private string Id => this.GetPrimaryKeyString();

    private RunInfo Info => state.State.Info ?? throw RequestException.NotFound($"Run with id={Id} not found");

    public async Task<RunRecord> Create(NewRun run)
    {
        if (state.State.Info is not null)
        {
            throw RequestException.AlreadyExists($"Run with id={Id} already exists.");
        }

        var experiment = GrainFactory.GetGrain<IExperimentGrain>(run.ExperimentId);
        var found = await experiment.Get() ?? throw RequestException.NotFound($"No Experiment with id={run.ExperimentId} exists");
        if (found.LifecycleStage != LifecycleStages.Active)
        {
            throw RequestException.InvalidState(
                $"The experiment {run.ExperimentId} must be in the 'active' state. Current state is {found.LifecycleStage}. Restore it before creating runs in it.");
        }

        var tags = run.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        var name = !string.IsNullOrEmpty(run.RunName) ? run.RunName
            : tags.TryGetValue(RunNameTag, out var tagged) && !string.IsNullOrEmpty(tagged) ? tagged
            : RunNames.Generate();
        tags[RunNameTag] = name;
        var user = !string.IsNullOrEmpty(run.UserId) ? run.UserId : tags.GetValueOrDefault(UserTag, "");
        if (!string.IsNullOrEmpty(user))
        {
            tags.TryAdd(UserTag, user);
        }

        var artifactUri = $"{found.ArtifactLocation.TrimEnd('/')}/{Id}/artifacts";
        state.State = new RunState
        {
            Info = new RunInfo(Id, run.ExperimentId, name, user, RunStatuses.Running, run.StartTime, null, artifactUri, LifecycleStages.Active),
            Tags = tags,
        };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = new RunState();
            throw;
        }

        await experiment.AddRun(Id);
        return ToRecord();
    }

    public Task<RunRecord?> Get() => Task.FromResult(state.State.Info is null ? null : ToRecord());

    public async Task<RunInfo> Update(RunUpdate update)
    {
        var info = Info;
        EnsureActive(info);
        var name = string.IsNullOrEmpty(update.RunName) ? info.RunName : update.RunName;
        var next = info with
        {
            Status = update.Status ?? info.Status,
            EndTime = update.EndTime ?? info.EndTime,
            RunName = name,
        };
        await ChangeAsync(s =>
        {
            s.Info = next;
            s.Tags[RunNameTag] = name;
        });
        return next;
    }

    public Task Delete() => SetLifecycle(LifecycleStages.Deleted);

    public Task Restore() => SetLifecycle(LifecycleStages.Active);

    public Task SetLifecycle(string lifecycleStage)
    {
        var info = Info;
        return info.LifecycleStage == lifecycleStage
            ? Task.CompletedTask
            : ChangeAsync(s => s.Info = info with { LifecycleStage = lifecycleStage });
    }

    public async Task LogBatch(RunBatch batch)
    {
        EnsureActive(Info);
        foreach (var param in batch.Params)
        {
            if (state.State.Params.TryGetValue(param.Key, out var logged) && logged != param.Value)
            {
                throw RequestException.Invalid(
                    $"Changing param values is not allowed. Param with key='{param.Key}' was already logged with value='{logged}' for run ID='{Id}'. Attempted logging new value '{param.Value}'.");
            }
        }

        var byKey = batch.Metrics.GroupBy(m => m.Key, StringComparer.Ordinal).ToList();
        var cursors = await Task.WhenAll(byKey.Select(async group =>
            (group.Key, Cursor: await history.AppendAsync(Id, group.Key, state.State.Cursors.GetValueOrDefault(group.Key), [.. group]))));

        await ChangeAsync(s =>
        {
            foreach (var (key, cursor) in cursors)
            {
                s.Cursors[key] = cursor;
            }

            foreach (var point in batch.Metrics)
            {
                if (!s.Latest.TryGetValue(point.Key, out var latest)
                    || LatestMetric.Supersedes(point.Step, point.Timestamp, point.Value, latest.Step, latest.Timestamp, latest.Value))
                {
                    s.Latest[point.Key] = point;
                }
            }

            foreach (var param in batch.Params)
            {
                s.Params[param.Key] = param.Value;
            }

            foreach (var tag in batch.Tags)
            {
                s.Tags[tag.Key] = tag.Value;
                if (tag.Key == RunNameTag && !string.IsNullOrEmpty(tag.Value))
                {
                    s.Info = s.Info! with { RunName = tag.Value };
                }
            }
        });
    }

    public Task DeleteTag(string key)
    {
        EnsureActive(Info);
        if (!state.State.Tags.ContainsKey(key))
        {
            throw RequestException.NotFound($"No tag with name: {key} in run with id {Id}");
        }

        return ChangeAsync(s => s.Tags.Remove(key));
    }

    public async Task LogInputs(IReadOnlyList<RunDatasetInput> inputs)
    {
        EnsureActive(Info);
        var added = inputs
            .Where(i => !state.State.Inputs.Any(e => e.Name == i.Name && e.Digest == i.Digest && Context(e) == Context(i)))
            .DistinctBy(i => (i.Name, i.Digest, Context(i)))
            .ToList();
        if (added.Count == 0)
        {
            return;
        }

        await ChangeAsync(s => s.Inputs.AddRange(added));
        var info = Info;
        await Task.WhenAll(added
            .Where(i => i.DatasetVersion is not null)
            .Select(i => i.DatasetVersion!)
            .Distinct()
            .Select(v => GrainFactory.GetGrain<IDatasetGrain>(v.Name).RecordUse(v.Version,
                new DatasetUse(DatasetUseKinds.Run, info.RunId, info.RunName, info.ExperimentId, DateTimeOffset.UtcNow))));
    }

    private static string? Context(RunDatasetInput input) =>
        input.Tags.FirstOrDefault(t => t.Key == "mlflow.data.context")?.Value;

    private void EnsureActive(RunInfo info)
    {
        if (info.LifecycleStage != LifecycleStages.Active)
        {
            throw RequestException.InvalidState(
                $"The run {Id} must be in the 'active' state. Current state is {info.LifecycleStage}. Restore it (runs/restore) first.");
        }
    }

    private async Task ChangeAsync(Action<RunState> change)
    {
        var previous = state.State;
        var next = new RunState
        {
            Info = previous.Info,
            Params = new Dictionary<string, string>(previous.Params, StringComparer.Ordinal),
            Tags = new Dictionary<string, string>(previous.Tags, StringComparer.Ordinal),
            Latest = new Dictionary<string, MetricPoint>(previous.Latest, StringComparer.Ordinal),
            Cursors = new Dictionary<string, MetricCursor>(previous.Cursors, StringComparer.Ordinal),
            Inputs = [.. previous.Inputs],
        };
        change(next);
        await state.ReplaceAsync(next);
    }

    private RunRecord ToRecord() => new(
        state.State.Info!,
        [.. state.State.Latest.Values],
        [.. state.State.Params.Select(p => new TrackingTag(p.Key, p.Value))],
        [.. state.State.Tags.Select(t => new TrackingTag(t.Key, t.Value))],
        [.. state.State.Inputs]);
}
