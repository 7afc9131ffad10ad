using System.Globalization;

namespace MlGrid.Training;

/// <summary>The kinds of model a training job makes, by the names the API takes.</summary>
public static class TrainingTasks
{
    public const string BinaryClassification = "binary-classification";
    public const string MulticlassClassification = "multiclass-classification";
    public const string Regression = "regression";

    public static IReadOnlyList<string> All { get; } = [BinaryClassification, MulticlassClassification, Regression];
}

/// <summary>Whether a hyperparameter takes whole numbers or any real number.</summary>
public enum HyperparameterKind
{
    Integer,
    Real,
}

/// <summary>A hyperparameter a trainer takes, with its inclusive range and what ML.NET uses when it is not given.</summary>
public sealed record HyperparameterDefinition(string Name, HyperparameterKind Kind, double Min, double Max, string Description);

/// <summary>An ML.NET trainer: its name in training specs, the tasks it does, and its hyperparameters.</summary>
public sealed record TrainerDefinition(string Name, string Description, IReadOnlyList<string> Tasks, IReadOnlyList<HyperparameterDefinition> Hyperparameters)
{
    public HyperparameterDefinition? Find(string hyperparameter) =>
        Hyperparameters.FirstOrDefault(h => string.Equals(h.Name, hyperparameter, StringComparison.Ordinal));
}

/// <summary>The trainers a training job can name.</summary>
public static class TrainerCatalog
{
    public const string Sdca = "sdca";
    public const string Lbfgs = "lbfgs";
    public const string FastTree = "fasttree";
    public const string LightGbm = "lightgbm";

    private static readonly HyperparameterDefinition L1 = new("l1Regularization", HyperparameterKind.Real, 0, 1e6, "L1 regularization weight");
    private static readonly HyperparameterDefinition L2 = new("l2Regularization", HyperparameterKind.Real, 0, 1e6, "L2 regularization weight");
    private static readonly HyperparameterDefinition Leaves = new("numberOfLeaves", HyperparameterKind.Integer, 2, 4096, "maximum leaves per tree");
    private static readonly HyperparameterDefinition MinLeafRows = new("minimumExampleCountPerLeaf", HyperparameterKind.Integer, 1, 1_000_000, "fewest rows a leaf may hold");
    private static readonly HyperparameterDefinition LearningRate = new("learningRate", HyperparameterKind.Real, 1e-6, 1, "shrinkage of each boosting step");

    public static IReadOnlyList<TrainerDefinition> All { get; } =
    [
        new(Sdca, "stochastic dual coordinate ascent: logistic regression, maximum entropy, or linear regression",
            TrainingTasks.All,
            [L1, L2, new("maximumNumberOfIterations", HyperparameterKind.Integer, 1, 100_000, "passes over the training data")]),
        new(Lbfgs, "L-BFGS logistic regression (maximum entropy for several classes)",
            [TrainingTasks.BinaryClassification, TrainingTasks.MulticlassClassification],
            [L1, L2,
             new("optimizationTolerance", HyperparameterKind.Real, 1e-12, 1, "stop when the loss improves by less than this"),
             new("historySize", HyperparameterKind.Integer, 1, 1000, "past gradients kept to estimate the Hessian")]),
        new(FastTree, "gradient-boosted decision trees (FastTree)",
            [TrainingTasks.BinaryClassification, TrainingTasks.Regression],
            [Leaves, MinLeafRows, LearningRate, new("numberOfTrees", HyperparameterKind.Integer, 1, 100_000, "trees in the ensemble")]),
        new(LightGbm, "gradient-boosted decision trees (LightGBM)",
            TrainingTasks.All,
            [Leaves, MinLeafRows, LearningRate, new("numberOfIterations", HyperparameterKind.Integer, 1, 100_000, "boosting iterations")]),
    ];

    public static TrainerDefinition? Find(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Every problem with a trainer, a task and hyperparameters, each a sentence saying what to change.</summary>
    public static IEnumerable<string> Problems(string trainer, string task, IReadOnlyDictionary<string, double> hyperparameters)
    {
        var definition = Find(trainer);
        if (definition is null)
        {
            yield return $"Unknown trainer '{trainer}': use one of {string.Join(", ", All.Select(t => t.Name))}.";
            yield break;
        }

        if (!definition.Tasks.Contains(task))
        {
            yield return $"Trainer '{definition.Name}' does not do {task}: it does {string.Join(" and ", definition.Tasks)}.";
        }

        foreach (var (name, value) in hyperparameters)
        {
            var known = definition.Find(name);
            if (known is null)
            {
                yield return $"Trainer '{definition.Name}' has no hyperparameter '{name}': it takes {string.Join(", ", definition.Hyperparameters.Select(h => h.Name))}.";
                continue;
            }

            if (double.IsNaN(value) || value < known.Min || value > known.Max)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"Hyperparameter '{name}' is {value}; it must be between {known.Min} and {known.Max}.");
            }
            else if (known.Kind == HyperparameterKind.Integer && value != Math.Floor(value))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"Hyperparameter '{name}' is {value}; it must be a whole number.");
            }
        }
    }
}
