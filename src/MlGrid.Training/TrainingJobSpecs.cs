using MlGrid.Contracts;
using MlGrid.Datasets;

namespace MlGrid.Training;

/// <summary>Between the cluster's contracts and the trainer: a dataset version's stored profile, and a job's spec.</summary>
public static class TrainingJobSpecs
{
    /// <summary>The profile a dataset version was stored with, as the planner reads it.</summary>
    public static DatasetProfile Profile(DatasetVersionInfo version) => new(
        version.Rows,
        [.. version.Columns.Select(c => new ColumnProfile(
            c.Name,
            c.Type,
            c.Nulls,
            c.Min,
            c.Max,
            c.Mean,
            c.Std,
            c.Histogram is { } h ? new Histogram(h.Edges, h.Counts) : null,
            [.. c.TopValues.Select(v => new ValueCount(v.Value, v.Count))]))]);

    public static TrainingSpec Spec(TrainingJobSpec job) => new(
        job.Task,
        job.Label,
        job.Features,
        job.Trainer,
        job.Hyperparameters,
        job.ValidationFraction,
        job.Seed);

    /// <summary>Checks a job's spec against the dataset version it names; throws <see cref="TrainingSpecException"/> with every problem.</summary>
    public static TrainingPlan Plan(TrainingJobSpec job, DatasetVersionInfo version) => TrainingPlanner.Plan(Spec(job), Profile(version));
}
