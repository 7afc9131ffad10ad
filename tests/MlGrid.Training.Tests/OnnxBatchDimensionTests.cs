using Microsoft.ML.OnnxRuntime;
using MlGrid.Testing;

namespace MlGrid.Training.Tests;

public sealed class OnnxBatchDimensionTests
{
    [Fact]
    public void A_fixed_batch_of_one_becomes_dynamic_and_runs_with_any_batch()
    {
        var fixedModel = TestModels.FixedShapeRelu();
        using (var before = new InferenceSession(fixedModel))
        {
            Assert.Equal([1, 4], before.InputMetadata["x"].Dimensions);
        }

        var dynamic = OnnxBatchDimension.MakeDynamic(fixedModel);

        using var session = new InferenceSession(dynamic);
        Assert.Equal([-1, 4], session.InputMetadata["x"].Dimensions);
        Assert.Equal(OnnxBatchDimension.Name, session.InputMetadata["x"].SymbolicDimensions[0]);
        Assert.Equal([-1, 4], session.OutputMetadata["y"].Dimensions);
        using var input = OrtValue.CreateTensorValueFromMemory(new float[] { -1, 2, -3, 4, 5, -6, 7, -8, 9, 10, 11, -12 }, [3, 4]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { ["x"] = input }, session.OutputNames);
        Assert.Equal(new float[] { 0, 2, 0, 4, 5, 0, 7, 0, 9, 10, 11, 0 }, outputs[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void A_model_that_is_already_dynamic_keeps_its_meaning()
    {
        var linear = TestModels.Linear();

        using var session = new InferenceSession(OnnxBatchDimension.MakeDynamic(linear));

        Assert.Equal([-1, 3], session.InputMetadata["input"].Dimensions);
    }

    [Fact]
    public void Truncated_bytes_are_refused()
    {
        var model = TestModels.FixedShapeRelu();

        Assert.Throws<InvalidDataException>(() => OnnxBatchDimension.MakeDynamic(model[..^1]));
    }
}
