using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

public sealed class TrainingJobCatalogState
{
    public Dictionary<string, TrainingJobSummary> Jobs { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Every training job's summary, updated by the job on each change; the list and the scheduler read it in one call.</summary>
[GrainType("mlgrid.training-job-catalog")]
public sealed class TrainingJobCatalogGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<TrainingJobCatalogState> state) : Grain, ITrainingJobCatalogGrain
{
    public async Task Upsert(TrainingJobSummary summary)
    {
        var jobs = state.State.Jobs;
        if (jobs.TryGetValue(summary.Id, out var known) && (known == summary || known.UpdatedAt > summary.UpdatedAt))
        {
            return;
        }

        jobs[summary.Id] = summary;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (known is null)
            {
                jobs.Remove(summary.Id);
            }
            else
            {
                jobs[summary.Id] = known;
            }

            throw;
        }
    }

    public Task<IReadOnlyList<TrainingJobSummary>> List() =>
        Task.FromResult<IReadOnlyList<TrainingJobSummary>>([.. state.State.Jobs.Values.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id, StringComparer.Ordinal)]);

    public Task<IReadOnlyList<TrainingJobSummary>> Active() =>
        Task.FromResult<IReadOnlyList<TrainingJobSummary>>([.. state.State.Jobs.Values
            .Where(j => !TrainingJobStatuses.IsFinal(j.Status))
            .OrderBy(j => j.CreatedAt)
            .ThenBy(j => j.Id, StringComparer.Ordinal)]);
}
