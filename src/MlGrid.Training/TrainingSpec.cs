using System.Globalization;
using MlGrid.Datasets;

namespace MlGrid.Training;

/// <summary>What to train: the task, the label and feature columns, the trainer with its hyperparameters, and the share of rows held out for validation.</summary>
public sealed record TrainingSpec(
    string Task,
    string Label,
    IReadOnlyList<string>? Features,
    string Trainer,
    IReadOnlyDictionary<string, double> Hyperparameters,
    double ValidationFraction = 0.2,
    int Seed = 1);

/// <summary>A feature column and how it enters the model: numbers as floats, booleans as 0/1, strings one-hot encoded.</summary>
public sealed record FeatureColumn(string Name, string Type, int Index, bool HasMissingValues);

/// <summary>A training spec checked against a dataset version's profile: the columns to read, and how.</summary>
public sealed record TrainingPlan(
    TrainingSpec Spec,
    TrainerDefinition Trainer,
    string LabelType,
    int LabelIndex,
    IReadOnlyList<FeatureColumn> Features,
    IReadOnlyList<string> Headers);

/// <summary>A training spec that cannot be trained on the dataset; <see cref="Problems"/> says each thing to change.</summary>
public sealed class TrainingSpecException : Exception
{
    public TrainingSpecException()
    {
    }

    public TrainingSpecException(string message) : base(message)
    {
        Problems = [message];
    }

    public TrainingSpecException(string message, Exception innerException) : base(message, innerException)
    {
        Problems = [message];
    }

    public TrainingSpecException(IReadOnlyList<string> problems) : base(string.Join(" ", problems))
    {
        Problems = problems;
    }

    public IReadOnlyList<string> Problems { get; } = [];
}

public static class TrainingPlanner
{
    /// <summary>Validation sets smaller than this give metrics too noisy to choose or check a model by.</summary>
    public const int MinimumRows = 10;

    /// <summary>
    /// Checks <paramref name="spec"/> against the dataset's profile and says how each column is read. Every problem is
    /// collected, so a person fixes a spec in one go. Throws <see cref="TrainingSpecException"/> when there is any.
    /// </summary>
    public static TrainingPlan Plan(TrainingSpec spec, DatasetProfile profile)
    {
        var problems = new List<string>();
        if (!TrainingTasks.All.Contains(spec.Task))
        {
            problems.Add($"Unknown task '{spec.Task}': use one of {string.Join(", ", TrainingTasks.All)}.");
        }
        else
        {
            problems.AddRange(TrainerCatalog.Problems(spec.Trainer, spec.Task, spec.Hyperparameters));
        }

        if (!(spec.ValidationFraction > 0 && spec.ValidationFraction <= 0.5))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"validationFraction is {spec.ValidationFraction}; it must be above 0 and at most 0.5."));
        }

        var columns = profile.Columns.Select((c, i) => (Column: c, Index: i)).ToDictionary(c => c.Column.Name, StringComparer.Ordinal);
        var labelType = "";
        var labelIndex = -1;
        if (!columns.TryGetValue(spec.Label, out var label))
        {
            problems.Add($"The label '{spec.Label}' is not a column of the dataset; its columns are {string.Join(", ", profile.Columns.Select(c => c.Name))}.");
        }
        else
        {
            labelType = label.Column.Type;
            labelIndex = label.Index;
            if (label.Column.Nulls > 0)
            {
                problems.Add($"The label '{spec.Label}' is missing in {label.Column.Nulls} rows; every row needs a label.");
            }

            if (LabelProblem(spec.Task, label.Column) is { } labelProblem)
            {
                problems.Add(labelProblem);
            }
        }

        var names = spec.Features ?? [.. profile.Columns.Select(c => c.Name).Where(n => n != spec.Label)];
        var features = new List<FeatureColumn>();
        if (names.Count == 0)
        {
            problems.Add("There are no feature columns: name at least one column besides the label.");
        }

        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (name == spec.Label)
            {
                problems.Add($"The label '{name}' cannot also be a feature.");
            }
            else if (!columns.TryGetValue(name, out var feature))
            {
                problems.Add($"The feature '{name}' is not a column of the dataset.");
            }
            else
            {
                features.Add(new FeatureColumn(name, feature.Column.Type, feature.Index, feature.Column.Nulls > 0));
            }
        }

        if (profile.Rows < MinimumRows)
        {
            problems.Add($"The dataset has {profile.Rows} rows; training needs at least {MinimumRows}.");
        }

        if (problems.Count > 0)
        {
            throw new TrainingSpecException(problems);
        }

        return new TrainingPlan(spec, TrainerCatalog.Find(spec.Trainer)!, labelType, labelIndex, features, [.. profile.Columns.Select(c => c.Name)]);
    }

    private static string? LabelProblem(string task, ColumnProfile label) => task switch
    {
        TrainingTasks.Regression when label.Type is not (ColumnTypes.Integer or ColumnTypes.Float) =>
            $"Regression needs a numeric label; '{label.Name}' holds {label.Type} values.",
        TrainingTasks.BinaryClassification when label.Type == ColumnTypes.Boolean => null,
        TrainingTasks.BinaryClassification when label.Type is ColumnTypes.Integer or ColumnTypes.Float
            && label.Min is >= 0 && label.Max is <= 1 && label.TopValues.All(v => v.Value is "0" or "1") => null,
        TrainingTasks.BinaryClassification =>
            $"Binary classification needs a label of true/false or 0/1; '{label.Name}' holds {label.Type} values. Use multiclass-classification for more than two classes.",
        TrainingTasks.MulticlassClassification when label.Type == ColumnTypes.Float =>
            $"Multiclass classification needs classes as integers, strings or booleans; '{label.Name}' holds floats.",
        _ => null,
    };
}
