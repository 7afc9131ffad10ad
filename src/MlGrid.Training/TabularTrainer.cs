using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MlGrid.Datasets;

namespace MlGrid.Training;

/// <summary>Where a training run is: a phase ("loading", "training", "evaluating", "exporting", "checking") and its overall percent.</summary>
public sealed record TrainingProgress(string Phase, int Percent);

/// <summary>How closely the ONNX model's predictions matched ML.NET's on the validation rows.</summary>
public sealed record ParityReport(int Rows, double MaxDifference, double LabelAgreement);

/// <summary>A trained model: validation metrics (and, for boosted trees, after each iteration), the ONNX file (one input per feature column), and the parity check.</summary>
public sealed record TrainingResult(
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<IterationMetrics> Curve,
    byte[] Onnx,
    ParityReport Parity,
    long TrainingRows,
    long ValidationRows,
    IReadOnlyList<string> OnnxInputs,
    IReadOnlyList<string> OnnxOutputs);

/// <summary>Training that ran but whose model cannot be used; the message says why.</summary>
public sealed class TrainingFailedException : Exception
{
    public TrainingFailedException()
    {
    }

    public TrainingFailedException(string message) : base(message)
    {
    }

    public TrainingFailedException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>
/// Trains a tabular model on a CSV dataset version with ML.NET: numeric features as floats (missing values replaced
/// by the mean), booleans as 0/1, strings one-hot encoded; a seeded train/validation split; metrics on the validation
/// rows; export to ONNX from a features-only schema so each feature column is one named input of shape [N, 1]; and a
/// check that ONNX Runtime predicts what ML.NET predicts on the validation rows.
/// </summary>
public static class TabularTrainer
{
    private const string LabelColumn = "__label";
    private const string FeaturesColumn = "__features";
    private const int MaxParityRows = 10_000;
    private const double Tolerance = 1e-4;
    private const double RequiredLabelAgreement = 0.999;

    public static TrainingResult Train(string csvPath, TrainingPlan plan, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        Train(csvPath, plan, progress, null, cancellationToken);

    public static TrainingResult Train(
        string csvPath, TrainingPlan plan, IProgress<TrainingProgress>? progress, Action<string>? log, CancellationToken cancellationToken)
    {
        try
        {
            return TrainCore(csvPath, plan, progress, log, cancellationToken);
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && IsCancellation(ex))
        {
            // ML.NET's trainers stop with OperationCanceledException, several at once from parallel workers.
            throw new OperationCanceledException("Training was cancelled.", ex, cancellationToken);
        }
    }

    private static bool IsCancellation(Exception ex) => ex switch
    {
        OperationCanceledException => true,
        AggregateException aggregate => aggregate.Flatten().InnerExceptions.All(IsCancellation),
        _ => ex.InnerException is { } inner && IsCancellation(inner),
    };

    private static TrainingResult TrainCore(
        string csvPath, TrainingPlan plan, IProgress<TrainingProgress>? progress, Action<string>? log, CancellationToken cancellationToken)
    {
        var spec = plan.Spec;
        var ml = new MLContext(seed: spec.Seed);
        if (log is not null)
        {
            ml.Log += (_, e) => log($"{e.Kind} {e.Source}: {e.Message}");
        }

        using var cancel = cancellationToken.Register(() => CancelExecution(ml));

        progress?.Report(new TrainingProgress("loading", 5));
        var data = ml.Data.LoadFromTextFile(csvPath, Loader(
            [new TextLoader.Column(LabelColumn, LabelKind(plan), plan.LabelIndex), .. plan.Features.Select(f => new TextLoader.Column(f.Name, FeatureKind(f), f.Index))]));
        var split = ml.Data.TrainTestSplit(data, spec.ValidationFraction, seed: spec.Seed);
        IDataView train = split.TrainSet;
        IDataView validation = split.TestSet;
        if (spec.Task == TrainingTasks.MulticlassClassification)
        {
            // The class mapping is fitted on the label alone and kept out of the exported model, which sees features only.
            var classes = ml.Transforms.Conversion.MapValueToKey(LabelColumn).Fit(train);
            train = classes.Transform(train);
            validation = classes.Transform(validation);
        }

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("training", 15));
        var featurizer = Features(ml, plan).Fit(train);
        var predictor = Trainer(ml, plan).Fit(featurizer.Transform(train));
        var core = featurizer.Append(predictor);
        ITransformer model = spec.Task == TrainingTasks.MulticlassClassification
            ? core.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(core.Transform(train)))
            : core;

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("evaluating", 70));
        var scored = core.Transform(validation);
        var metrics = Evaluate(ml, spec.Task, scored);
        var curve = IterationCurve.Compute(predictor, featurizer.Transform(validation), FeaturesColumn, LabelColumn, spec.Task, metrics, log);

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new TrainingProgress("exporting", 80));
        var featureNames = plan.Features.Select(f => f.Name).ToArray();
        // The export reads its inputs from the data's source, so it gets a source with the feature columns only: a
        // source with the label would make the label a required input of the ONNX model.
        var featuresOnly = ml.Data.LoadFromTextFile(csvPath, Loader(plan.Features.Select(f => new TextLoader.Column(f.Name, FeatureKind(f), f.Index))));
        var outputs = Outputs(spec.Task);
        byte[] onnx;
        using (var stream = new MemoryStream())
        {
            ml.Model.ConvertToOnnx(model, featuresOnly, stream, outputs);
            onnx = OnnxBatchDimension.MakeDynamic(stream.ToArray());
        }

        progress?.Report(new TrainingProgress("checking", 90));
        var parity = CheckParity(onnx, plan, validation, model.Transform(validation), cancellationToken);
        progress?.Report(new TrainingProgress("done", 100));
        return new TrainingResult(
            metrics,
            curve,
            onnx,
            parity,
            CountRows(train),
            CountRows(validation),
            featureNames,
            [.. outputs.Select(o => o + ".output")]);
    }

    /// <summary>The names the exported model's outputs have: ML.NET's columns with ONNX's ".output" suffix.</summary>
    public static string[] Outputs(string task) => task switch
    {
        TrainingTasks.BinaryClassification => ["PredictedLabel", "Score", "Probability"],
        TrainingTasks.MulticlassClassification => ["PredictedLabel", "Score"],
        _ => ["Score"],
    };

    private static TextLoader.Options Loader(IEnumerable<TextLoader.Column> columns) => new()
    {
        HasHeader = true,
        Separators = [','],
        AllowQuoting = true,

        // RFC 4180 lets a quoted field hold line breaks, and dataset uploads accept them.
        ReadMultilines = true,
        Columns = [.. columns],
    };

    private static DataKind LabelKind(TrainingPlan plan) => plan.Spec.Task switch
    {
        TrainingTasks.BinaryClassification => DataKind.Boolean,
        TrainingTasks.Regression => DataKind.Single,
        _ => DataKind.String,
    };

    private static DataKind FeatureKind(FeatureColumn feature) => feature.Type switch
    {
        ColumnTypes.Integer or ColumnTypes.Float => DataKind.Single,
        ColumnTypes.Boolean => DataKind.Boolean,
        _ => DataKind.String,
    };

    private static IEstimator<ITransformer> Features(MLContext ml, TrainingPlan plan)
    {
        IEstimator<ITransformer> pipeline = new EstimatorChain<ITransformer>();
        var prepared = new List<string>();
        foreach (var feature in plan.Features)
        {
            var column = "__f_" + feature.Name;
            switch (feature.Type)
            {
                case ColumnTypes.Integer or ColumnTypes.Float when feature.HasMissingValues:
                    pipeline = pipeline.Append(ml.Transforms.ReplaceMissingValues(column, feature.Name));
                    break;
                case ColumnTypes.Integer or ColumnTypes.Float:
                    column = feature.Name;
                    break;
                case ColumnTypes.Boolean:
                    pipeline = pipeline.Append(ml.Transforms.Conversion.ConvertType(column, feature.Name, DataKind.Single));
                    break;
                default:
                    pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncoding(column, feature.Name));
                    break;
            }

            prepared.Add(column);
        }

        pipeline = pipeline.Append(ml.Transforms.Concatenate(FeaturesColumn, [.. prepared]));
        if (plan.Trainer.Name is TrainerCatalog.Sdca or TrainerCatalog.Lbfgs)
        {
            // Linear models converge far better on features of one scale.
            pipeline = pipeline.Append(ml.Transforms.NormalizeMinMax(FeaturesColumn));
        }

        return pipeline;
    }

    private static IEstimator<ITransformer> Trainer(MLContext ml, TrainingPlan plan)
    {
        var h = plan.Spec.Hyperparameters;
        int? Int(string name) => h.TryGetValue(name, out var v) ? (int)v : null;
        float? Real(string name) => h.TryGetValue(name, out var v) ? (float)v : null;
        double? Double(string name) => h.TryGetValue(name, out var v) ? v : null;

        return (plan.Trainer.Name, plan.Spec.Task) switch
        {
            (TrainerCatalog.Sdca, TrainingTasks.BinaryClassification) => ml.BinaryClassification.Trainers.SdcaLogisticRegression(
                LabelColumn, FeaturesColumn, l2Regularization: Real("l2Regularization"), l1Regularization: Real("l1Regularization"), maximumNumberOfIterations: Int("maximumNumberOfIterations")),
            (TrainerCatalog.Sdca, TrainingTasks.MulticlassClassification) => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(
                LabelColumn, FeaturesColumn, l2Regularization: Real("l2Regularization"), l1Regularization: Real("l1Regularization"), maximumNumberOfIterations: Int("maximumNumberOfIterations")),
            (TrainerCatalog.Sdca, _) => ml.Regression.Trainers.Sdca(
                LabelColumn, FeaturesColumn, l2Regularization: Real("l2Regularization"), l1Regularization: Real("l1Regularization"), maximumNumberOfIterations: Int("maximumNumberOfIterations")),
            (TrainerCatalog.Lbfgs, TrainingTasks.BinaryClassification) => ml.BinaryClassification.Trainers.LbfgsLogisticRegression(
                LabelColumn, FeaturesColumn, l1Regularization: Real("l1Regularization") ?? 1f, l2Regularization: Real("l2Regularization") ?? 1f,
                optimizationTolerance: Real("optimizationTolerance") ?? 1e-7f, historySize: Int("historySize") ?? 20),
            (TrainerCatalog.Lbfgs, _) => ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(
                LabelColumn, FeaturesColumn, l1Regularization: Real("l1Regularization") ?? 1f, l2Regularization: Real("l2Regularization") ?? 1f,
                optimizationTolerance: Real("optimizationTolerance") ?? 1e-7f, historySize: Int("historySize") ?? 20),
            (TrainerCatalog.FastTree, TrainingTasks.BinaryClassification) => ml.BinaryClassification.Trainers.FastTree(
                LabelColumn, FeaturesColumn, numberOfLeaves: Int("numberOfLeaves") ?? 20, numberOfTrees: Int("numberOfTrees") ?? 100,
                minimumExampleCountPerLeaf: Int("minimumExampleCountPerLeaf") ?? 10, learningRate: Double("learningRate") ?? 0.2),
            (TrainerCatalog.FastTree, _) => ml.Regression.Trainers.FastTree(
                LabelColumn, FeaturesColumn, numberOfLeaves: Int("numberOfLeaves") ?? 20, numberOfTrees: Int("numberOfTrees") ?? 100,
                minimumExampleCountPerLeaf: Int("minimumExampleCountPerLeaf") ?? 10, learningRate: Double("learningRate") ?? 0.2),
            (TrainerCatalog.LightGbm, TrainingTasks.BinaryClassification) => ml.BinaryClassification.Trainers.LightGbm(
                LabelColumn, FeaturesColumn, numberOfLeaves: Int("numberOfLeaves"), minimumExampleCountPerLeaf: Int("minimumExampleCountPerLeaf"),
                learningRate: Double("learningRate"), numberOfIterations: Int("numberOfIterations") ?? 100),
            (TrainerCatalog.LightGbm, TrainingTasks.MulticlassClassification) => ml.MulticlassClassification.Trainers.LightGbm(
                LabelColumn, FeaturesColumn, numberOfLeaves: Int("numberOfLeaves"), minimumExampleCountPerLeaf: Int("minimumExampleCountPerLeaf"),
                learningRate: Double("learningRate"), numberOfIterations: Int("numberOfIterations") ?? 100),
            (TrainerCatalog.LightGbm, _) => ml.Regression.Trainers.LightGbm(
                LabelColumn, FeaturesColumn, numberOfLeaves: Int("numberOfLeaves"), minimumExampleCountPerLeaf: Int("minimumExampleCountPerLeaf"),
                learningRate: Double("learningRate"), numberOfIterations: Int("numberOfIterations") ?? 100),
            var (trainer, task) => throw new TrainingSpecException($"Trainer '{trainer}' does not do {task}."),
        };
    }

    private static Dictionary<string, double> Evaluate(MLContext ml, string task, IDataView scored)
    {
        switch (task)
        {
            case TrainingTasks.BinaryClassification:
                var binary = ml.BinaryClassification.Evaluate(scored, LabelColumn);
                return new()
                {
                    ["auc"] = binary.AreaUnderRocCurve,
                    ["accuracy"] = binary.Accuracy,
                    ["f1"] = binary.F1Score,
                    ["log_loss"] = binary.LogLoss,
                };
            case TrainingTasks.MulticlassClassification:
                var multiclass = ml.MulticlassClassification.Evaluate(scored, LabelColumn);
                return new()
                {
                    ["macro_accuracy"] = multiclass.MacroAccuracy,
                    ["micro_accuracy"] = multiclass.MicroAccuracy,
                    ["log_loss"] = multiclass.LogLoss,
                };
            default:
                var regression = ml.Regression.Evaluate(scored, LabelColumn);
                return new()
                {
                    ["rmse"] = regression.RootMeanSquaredError,
                    ["mae"] = regression.MeanAbsoluteError,
                    ["r2"] = regression.RSquared,
                };
        }
    }

    /// <summary>Runs the ONNX model on (up to <see cref="MaxParityRows"/>) validation rows and compares every output with ML.NET's.</summary>
    private static ParityReport CheckParity(byte[] onnx, TrainingPlan plan, IDataView featuresOnly, IDataView predicted, CancellationToken cancellationToken)
    {
        var rows = (int)Math.Min(CountRows(featuresOnly), MaxParityRows);
        if (rows == 0)
        {
            throw new TrainingFailedException("The validation split has no rows; use a larger dataset or a larger validationFraction.");
        }

        using var options = new SessionOptions();
        using var session = new InferenceSession(onnx, options);
        var inputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
        try
        {
            foreach (var feature in plan.Features)
            {
                inputs[feature.Name] = FeatureTensor(featuresOnly, feature, rows);
            }

            cancellationToken.ThrowIfCancellationRequested();
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs, session.OutputNames);
            var outputs = session.OutputNames.Zip(results).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

            var maxDifference = 0.0;
            foreach (var (column, output) in new[] { ("Score", "Score.output"), ("Probability", "Probability.output") })
            {
                if (!outputs.TryGetValue(output, out var onnxValues))
                {
                    continue;
                }

                var expected = Floats(predicted, column, rows);
                var actual = onnxValues.GetTensorDataAsSpan<float>();
                if (actual.Length != expected.Length)
                {
                    throw new TrainingFailedException($"The ONNX model's {column} has {actual.Length} values for {rows} rows; ML.NET gave {expected.Length}.");
                }

                for (var i = 0; i < expected.Length; i++)
                {
                    maxDifference = Math.Max(maxDifference, RelativeDifference(actual[i], expected[i]));
                }
            }

            var agreement = outputs.TryGetValue("PredictedLabel.output", out var labels)
                ? LabelAgreement(predicted, labels, rows)
                : 1.0;
            var report = new ParityReport(rows, maxDifference, agreement);
            if (maxDifference > ParityTolerance(plan) || agreement < RequiredLabelAgreement)
            {
                throw new TrainingFailedException(string.Create(CultureInfo.InvariantCulture,
                    $"The exported ONNX model does not predict as the trained model does on {rows} validation rows (largest relative difference {maxDifference:G3}, labels agreeing {agreement:P2}); it was not registered."));
            }

            return report;
        }
        finally
        {
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }
    }

    private static OrtValue FeatureTensor(IDataView view, FeatureColumn feature, int rows)
    {
        long[] shape = [rows, 1];
        switch (FeatureKind(feature))
        {
            case DataKind.Single:
                return OrtValue.CreateTensorValueFromMemory(view.GetColumn<float>(feature.Name).Take(rows).ToArray(), shape);
            case DataKind.Boolean:
                return OrtValue.CreateTensorValueFromMemory(view.GetColumn<bool>(feature.Name).Take(rows).ToArray(), shape);
            default:
                var tensor = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
                var i = 0;
                foreach (var value in view.GetColumn<ReadOnlyMemory<char>>(feature.Name).Take(rows))
                {
                    tensor.StringTensorSetElementAt(value.Span, i++);
                }

                return tensor;
        }
    }

    /// <summary>A float column, or a vector column flattened row by row (a multiclass score).</summary>
    private static float[] Floats(IDataView view, string column, int rows)
    {
        var type = view.Schema[column].Type;
        if (type is VectorDataViewType)
        {
            return [.. view.GetColumn<VBuffer<float>>(column).Take(rows).SelectMany(v => v.DenseValues())];
        }

        return [.. view.GetColumn<float>(column).Take(rows)];
    }

    private static double LabelAgreement(IDataView predicted, OrtValue labels, int rows)
    {
        var type = predicted.Schema["PredictedLabel"].Type;
        int agreeing;
        if (type == BooleanDataViewType.Instance)
        {
            var expected = predicted.GetColumn<bool>("PredictedLabel").Take(rows).ToArray();
            var actual = labels.GetTensorDataAsSpan<bool>();
            agreeing = 0;
            for (var i = 0; i < rows; i++)
            {
                agreeing += actual[i] == expected[i] ? 1 : 0;
            }
        }
        else
        {
            var expected = predicted.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Take(rows).Select(v => v.ToString()).ToArray();
            agreeing = Enumerable.Range(0, rows).Count(i => labels.GetStringElement(i) == expected[i]);
        }

        return (double)agreeing / rows;
    }

    /// <summary>0 for equal values (NaN equals NaN), infinite when only one is NaN, else the difference relative to the expected value.</summary>
    /// <summary>
    /// How far the ONNX scores may be from ML.NET's. ONNX Runtime adds a tree ensemble's outputs in single precision
    /// where ML.NET uses double, so the rounding grows with the number of trees: 1e-4 up to 100 trees, in proportion
    /// beyond. Labels must still agree (<see cref="RequiredLabelAgreement"/>), which no rounding excuses.
    /// </summary>
    private static double ParityTolerance(TrainingPlan plan)
    {
        var hyperparameters = plan.Spec.Hyperparameters;
        var trees = hyperparameters.GetValueOrDefault("numberOfTrees", 0) + hyperparameters.GetValueOrDefault("numberOfIterations", 0);
        return Tolerance * Math.Max(1, trees / 100);
    }

    private static double RelativeDifference(float actual, float expected)
    {
        if (float.IsNaN(actual) || float.IsNaN(expected))
        {
            return float.IsNaN(actual) && float.IsNaN(expected) ? 0 : double.PositiveInfinity;
        }

        return actual == expected ? 0 : Math.Abs((double)actual - expected) / (1 + Math.Abs((double)expected));
    }

    /// <summary>
    /// Asks ML.NET to stop: its trainers check the context between iterations and throw
    /// <see cref="OperationCanceledException"/>. The call is not public on <see cref="MLContext"/> (it implements an
    /// internal interface), so it is found by name; a test cancels a real training run to keep this honest.
    /// </summary>
    private static void CancelExecution(MLContext ml)
    {
        var cancel = typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, Type.EmptyTypes)
            ?? throw new MissingMethodException(nameof(MLContext), "CancelExecution");
        cancel.Invoke(ml, null);
    }

    private static long CountRows(IDataView view)
    {
        if (view.GetRowCount() is { } known)
        {
            return known;
        }

        long rows = 0;
        using var cursor = view.GetRowCursor([]);
        while (cursor.MoveNext())
        {
            rows++;
        }

        return rows;
    }
}
