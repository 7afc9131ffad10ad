namespace MlGrid.Inference;

/// <summary>A named input or output as a model declares it; -1 marks a dynamic dimension.</summary>
public sealed record TensorSpec(string Name, string Datatype, long[] Shape)
{
    public string ShapeText => Shapes.Format(Shape);
}

/// <summary>A tensor with its data in a flat, row-major .NET array (string[] for BYTES).</summary>
public sealed record InferenceTensor(string Name, string Datatype, long[] Shape, Array Data);

/// <summary>
/// A request to run a model: its inputs and the outputs to return (null: all of them). With the binary data extension
/// a caller may ask for outputs as raw bytes rather than JSON numbers; <see cref="IsBinaryOutput"/> says which.
/// </summary>
public sealed record InferenceRequest(string? Id, IReadOnlyList<InferenceTensor> Inputs, IReadOnlyList<string>? Outputs)
{
    /// <summary>The request's <c>binary_data_output</c> parameter: every output as binary data, unless <see cref="BinaryDataByOutput"/> says otherwise for it.</summary>
    public bool BinaryDataOutput { get; init; }

    /// <summary>The <c>binary_data</c> parameter of each requested output that sets it, by output name; it wins over <see cref="BinaryDataOutput"/>.</summary>
    public IReadOnlyDictionary<string, bool> BinaryDataByOutput { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, bool>.Empty;

    /// <summary>Whether the output named <paramref name="outputName"/> goes back as binary data rather than JSON.</summary>
    public bool IsBinaryOutput(string outputName) =>
        BinaryDataByOutput.TryGetValue(outputName, out var binary) ? binary : BinaryDataOutput;
}

public sealed record InferenceResponse(string ModelName, string ModelVersion, string? Id, IReadOnlyList<InferenceTensor> Outputs);

/// <summary>A request the caller got wrong; the message says what and how to fix it.</summary>
public sealed class InferenceInputException : Exception
{
    public InferenceInputException()
    {
    }

    public InferenceInputException(string message) : base(message)
    {
    }

    public InferenceInputException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

public static class Shapes
{
    /// <summary>The number of elements a shape holds; an <see cref="InferenceInputException"/> for negative or overflowing dimensions.</summary>
    /// <summary>The most elements one tensor may hold: a 64 MiB body of one-byte elements.</summary>
    public const long MaxElements = 64L * 1024 * 1024;

    public static long ElementCount(string tensorName, IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw new InferenceInputException($"Tensor '{tensorName}' has a negative dimension in shape {Format(shape)}.");
            }

            try
            {
                count = checked(count * dim);
            }
            catch (OverflowException)
            {
                throw new InferenceInputException($"Tensor '{tensorName}' shape {Format(shape)} holds too many elements.");
            }
        }

        if (count > MaxElements)
        {
            throw new InferenceInputException(
                $"Tensor '{tensorName}' shape {Format(shape)} holds {count} elements; at most {MaxElements} are accepted per tensor.");
        }

        return count;
    }

    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";
}
