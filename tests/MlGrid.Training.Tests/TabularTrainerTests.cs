using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Training.Tests;

public sealed class TabularTrainerTests
{
    [Theory]
    [InlineData("sdca")]
    [InlineData("lbfgs")]
    [InlineData("fasttree")]
    [InlineData("lightgbm")]
    public async Task Binary_classifiers_learn_the_rule_and_export_an_onnx_model_that_agrees(string trainer)
    {
        using var data = await GeneratedDataset.CreateAsync("binary", 1500);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.BinaryClassification, "label", null, trainer, new Dictionary<string, double>()), data.Profile);

        var result = TabularTrainer.Train(data.Path, plan, null, CancellationToken.None);

        Assert.Equal(["auc", "accuracy", "f1", "log_loss"], result.Metrics.Keys);
        Assert.True(result.Metrics["auc"] > 0.95, $"AUC {result.Metrics["auc"]}");
        Assert.True(result.Metrics["accuracy"] > 0.85, $"accuracy {result.Metrics["accuracy"]}");
        Assert.InRange(result.TrainingRows + result.ValidationRows, 1500, 1500);
        Assert.InRange(result.ValidationRows, 200, 400);
        Assert.Equal(result.ValidationRows, result.Parity.Rows);
        Assert.True(result.Parity.MaxDifference <= 1e-4, $"max difference {result.Parity.MaxDifference}");
        Assert.True(result.Parity.LabelAgreement >= 0.999);

        using var session = new InferenceSession(result.Onnx);
        Assert.Equal(["x1", "x2", "n", "city", "member"], session.InputMetadata.Keys);
        Assert.Equal([-1, 1], session.InputMetadata["x1"].Dimensions);
        Assert.Equal(["PredictedLabel.output", "Score.output", "Probability.output"], session.OutputNames);

        // Two clear cases through ONNX Runtime, in one batch: far above and far below the rule's threshold.
        var outputs = Run(session, [0.95f, 0.05f], [0.9f, 0.1f], [1f, 2f], ["a", "c"], [true, false]);
        Assert.Equal([true, false], outputs[0].GetTensorDataAsSpan<bool>().ToArray());
        var probability = outputs[2].GetTensorDataAsSpan<float>().ToArray();
        Assert.True(probability[0] > 0.8 && probability[1] < 0.2, string.Join(", ", probability));
        outputs.Dispose();
    }

    [Theory]
    [InlineData("lightgbm", TrainingTasks.BinaryClassification, "numberOfIterations")]
    [InlineData("fasttree", TrainingTasks.BinaryClassification, "numberOfTrees")]
    [InlineData("lightgbm", TrainingTasks.Regression, "numberOfIterations")]
    [InlineData("fasttree", TrainingTasks.Regression, "numberOfTrees")]
    public async Task Boosted_trees_report_validation_metrics_after_each_iteration_ending_at_the_final_ones(string trainer, string task, string iterations)
    {
        using var data = await GeneratedDataset.CreateAsync(task == TrainingTasks.Regression ? "regression" : "binary", 1500);
        var plan = TrainingPlanner.Plan(new TrainingSpec(task, "label", null, trainer, new Dictionary<string, double> { [iterations] = 120 }), data.Profile);
        var messages = new List<string>();

        var result = TabularTrainer.Train(data.Path, plan, null, m => { lock (messages) { messages.Add(m); } }, CancellationToken.None);

        // At most 50 points, evenly spaced, the last after the last tree.
        Assert.InRange(result.Curve.Count, 40, 50);
        Assert.Equal(120, result.Curve[^1].Iteration);
        Assert.True(result.Curve.Zip(result.Curve.Skip(1)).All(p => p.Second.Iteration - p.First.Iteration == result.Curve[0].Iteration || p.Second.Iteration == 120));
        if (task == TrainingTasks.Regression)
        {
            Assert.Equal(result.Metrics["rmse"], result.Curve[^1].Values["rmse"], 4);
            Assert.True(result.Curve[0].Values["rmse"] > 2 * result.Curve[^1].Values["rmse"], "the error falls as trees are added");
        }
        else
        {
            Assert.Equal(result.Metrics["accuracy"], result.Curve[^1].Values["accuracy"], 9);
            Assert.Equal(result.Metrics["auc"], result.Curve[^1].Values["auc"], 6);
            Assert.True(result.Curve[0].Values["auc"] < result.Curve[^1].Values["auc"]);
        }

        // ML.NET's own messages (auto-tuned parameters, progress) come through for the job's log.
        Assert.NotEmpty(messages);
    }

    [Fact]
    public async Task Linear_trainers_have_no_per_iteration_metrics()
    {
        using var data = await GeneratedDataset.CreateAsync("binary", 300);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.BinaryClassification, "label", null, "sdca", new Dictionary<string, double>()), data.Profile);

        Assert.Empty(TabularTrainer.Train(data.Path, plan, null, CancellationToken.None).Curve);
    }

    [Fact]
    public async Task Zero_one_labels_train_as_booleans()
    {
        using var data = await GeneratedDataset.CreateAsync("binary01", 600);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.BinaryClassification, "label", ["x1", "x2"], "lbfgs", new Dictionary<string, double>()), data.Profile);

        var result = TabularTrainer.Train(data.Path, plan, null, CancellationToken.None);

        Assert.True(result.Metrics["auc"] > 0.95, $"AUC {result.Metrics["auc"]}");
        using var session = new InferenceSession(result.Onnx);
        Assert.Equal(["x1", "x2"], session.InputMetadata.Keys);
    }

    [Theory]
    [InlineData("sdca")]
    [InlineData("lbfgs")]
    [InlineData("lightgbm")]
    public async Task Multiclass_classifiers_predict_the_class_names(string trainer)
    {
        using var data = await GeneratedDataset.CreateAsync("multiclass", 1500);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.MulticlassClassification, "label", ["x1", "x2", "city"], trainer, new Dictionary<string, double>()), data.Profile);

        var result = TabularTrainer.Train(data.Path, plan, null, CancellationToken.None);

        Assert.Equal(["macro_accuracy", "micro_accuracy", "log_loss"], result.Metrics.Keys);
        Assert.True(result.Metrics["micro_accuracy"] > 0.85, $"micro accuracy {result.Metrics["micro_accuracy"]}");
        Assert.True(result.Parity.LabelAgreement >= 0.999);
        using var session = new InferenceSession(result.Onnx);
        using var outputs = Run(session, [0.1f, 0.5f, 0.95f], [0.1f, 0.5f, 0.9f], null, ["a", "b", "c"], null);
        Assert.Equal(["low", "mid", "high"], Enumerable.Range(0, 3).Select(i => outputs[0].GetStringElement(i)));
        Assert.Equal([3, 3], outputs[1].GetTensorTypeAndShape().Shape);
    }

    [Theory]
    [InlineData("sdca")]
    [InlineData("fasttree")]
    [InlineData("lightgbm")]
    public async Task Regressors_fit_the_rule_with_missing_values_replaced(string trainer)
    {
        using var data = await GeneratedDataset.CreateAsync("regression", 2000, missingValues: true);
        var hyperparameters = trainer == "sdca" ? new Dictionary<string, double> { ["maximumNumberOfIterations"] = 200 } : [];
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.Regression, "label", null, trainer, hyperparameters), data.Profile);

        var result = TabularTrainer.Train(data.Path, plan, null, CancellationToken.None);

        Assert.Equal(["rmse", "mae", "r2"], result.Metrics.Keys);
        Assert.True(result.Metrics["r2"] > 0.8, $"R² {result.Metrics["r2"]}");
        Assert.True(result.Parity.MaxDifference <= 1e-4);
        using var session = new InferenceSession(result.Onnx);
        Assert.Equal(["Score.output"], session.OutputNames);
        using var outputs = Run(session, [0.5f], [float.NaN], [3f], ["b"], [false]);
        Assert.True(float.IsFinite(outputs[0].GetTensorDataAsSpan<float>()[0]), "a missing x2 must be replaced, not passed through as NaN");
    }

    [Fact]
    public async Task Progress_goes_through_each_phase_in_order()
    {
        using var data = await GeneratedDataset.CreateAsync("binary", 300);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.BinaryClassification, "label", null, "fasttree", new Dictionary<string, double> { ["numberOfTrees"] = 10 }), data.Profile);
        var seen = new List<TrainingProgress>();

        TabularTrainer.Train(data.Path, plan, new SynchronousProgress(seen.Add), CancellationToken.None);

        Assert.Equal(["loading", "training", "evaluating", "exporting", "checking", "done"], seen.Select(p => p.Phase));
        Assert.Equal(seen.Select(p => p.Percent).Order(), seen.Select(p => p.Percent));
        Assert.Equal(100, seen[^1].Percent);
    }

    [Fact]
    public async Task Cancelling_stops_training_within_seconds()
    {
        using var data = await GeneratedDataset.CreateAsync("regression", 20_000);
        var plan = TrainingPlanner.Plan(new TrainingSpec(TrainingTasks.Regression, "label", null, "fasttree",
            new Dictionary<string, double> { ["numberOfTrees"] = 100_000, ["numberOfLeaves"] = 64, ["minimumExampleCountPerLeaf"] = 1 }), data.Profile);
        using var cancel = new CancellationTokenSource();
        var training = Task.Run(() => TabularTrainer.Train(data.Path, plan, new SynchronousProgress(p =>
        {
            if (p.Phase == "training")
            {
                cancel.CancelAfter(TimeSpan.FromSeconds(1));
            }
        }), cancel.Token));

        var finished = await Task.WhenAny(training, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.Same(training, finished);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => training);
    }

    private static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, float[] x1, float[] x2, float[]? n, string[] city, bool[]? member)
    {
        var rows = x1.Length;
        var inputs = new Dictionary<string, OrtValue>
        {
            ["x1"] = OrtValue.CreateTensorValueFromMemory(x1, [rows, 1]),
            ["x2"] = OrtValue.CreateTensorValueFromMemory(x2, [rows, 1]),
        };
        if (n is not null)
        {
            inputs["n"] = OrtValue.CreateTensorValueFromMemory(n, [rows, 1]);
        }

        var cities = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, [rows, 1]);
        for (var i = 0; i < rows; i++)
        {
            cities.StringTensorSetElementAt(city[i], i);
        }

        inputs["city"] = cities;
        if (member is not null)
        {
            inputs["member"] = OrtValue.CreateTensorValueFromMemory(member, [rows, 1]);
        }

        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, inputs.Where(i => session.InputMetadata.ContainsKey(i.Key)).ToDictionary(), session.OutputNames);
        }
        finally
        {
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>Reports on the caller's thread, unlike <see cref="Progress{T}"/>, so the order is exact.</summary>
    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
