using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference;

/// <summary>Reads Open Inference Protocol v2 JSON requests and writes its responses.</summary>
/// <remarks>
/// A request is read in one pass of a <see cref="Utf8JsonReader"/> that parses each input's <c>data</c> straight into
/// its typed array (see OipJson.Scan.cs): on a 1x3x224x224 FP32 tensor that takes about 40% of the time a
/// <see cref="JsonDocument"/> and per-element lookups did. Checks run only once the whole body is known to be JSON,
/// and in a fixed order, so a request gets the same answer whatever order its properties come in.
/// </remarks>
public static partial class OipJson
{
    /// <summary>Deepest nesting a request may have: the envelope plus nested <c>data</c> arrays of up to 16 dimensions.</summary>
    public const int MaxDepth = 24;

    /// <summary>The most dimensions a tensor may have.</summary>
    public const int MaxRank = 16;

    /// <summary>Longest request id, tensor name or datatype accepted; they are echoed into responses and logs.</summary>
    public const int MaxNameLength = 256;

    /// <summary>Parses a request body; an <see cref="InferenceInputException"/> says what is wrong with it.</summary>
    public static InferenceRequest ParseRequest(ReadOnlyMemory<byte> utf8Json) => ParseRequest(utf8Json, binary: null);

    /// <summary>
    /// Parses a request, or the JSON header of a binary one: inputs that declare <c>binary_data_size</c> take their data
    /// from <paramref name="binary"/>, and are refused when it is null.
    /// </summary>
    internal static InferenceRequest ParseRequest(ReadOnlyMemory<byte> utf8Json, BinaryInputs? binary)
    {
        var json = utf8Json.Span;
        var budget = new ElementBudget(json.Length);
        RequestScan scan;
        try
        {
            scan = RequestScan.Read(json, budget);
        }
        catch (JsonException ex)
        {
            throw new InferenceInputException(binary is null
                ? $"The request body is not valid JSON: {ex.Message}"
                : $"The JSON inference header (the first {json.Length} bytes of the body) is not valid JSON: {ex.Message}");
        }

        if (scan.Root != JsonTokenType.StartObject)
        {
            throw new InferenceInputException("The request body must be a JSON object with an 'inputs' array.");
        }

        string? id = null;
        if (scan.Id.IsGiven)
        {
            id = scan.Id.Type == JsonTokenType.String
                ? scan.Id.Text
                : throw new InferenceInputException("'id' must be a string.");
            if (id is { Length: > MaxNameLength })
            {
                throw new InferenceInputException($"'id' is {id.Length} characters long; at most {MaxNameLength} are accepted.");
            }
        }

        if (scan.Inputs is null)
        {
            throw new InferenceInputException("The request must have an 'inputs' array.");
        }

        var inputs = new List<InferenceTensor>(scan.Inputs.Count);
        foreach (var input in scan.Inputs)
        {
            inputs.Add(BuildInput(json, input, binary, budget));
        }

        List<string>? outputs = null;
        Dictionary<string, bool>? binaryDataByOutput = null;
        if (scan.OutputsType is not (JsonTokenType.None or JsonTokenType.Null))
        {
            if (scan.Outputs is null)
            {
                throw new InferenceInputException("'outputs' must be an array of objects with a 'name'.");
            }

            outputs = [];
            foreach (var output in scan.Outputs)
            {
                var name = output.IsObject
                    ? RequiredString(output.Name, "name", "each entry of 'outputs'")
                    : throw new InferenceInputException("'name' is required as a non-empty string in each entry of 'outputs'.");
                outputs.Add(name);
                if (output.BinaryData.IsGiven)
                {
                    binaryDataByOutput ??= new Dictionary<string, bool>(StringComparer.Ordinal);
                    binaryDataByOutput[name] = output.BinaryData.Type switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        _ => throw new InferenceInputException(
                            $"The 'binary_data' parameter of output '{name}' must be true or false, not {Truncate(output.BinaryData.Raw)}."),
                    };
                }
            }
        }

        var binaryDataOutput = scan.BinaryDataOutput.Type switch
        {
            JsonTokenType.None or JsonTokenType.Null or JsonTokenType.False => false,
            JsonTokenType.True => true,
            _ => throw new InferenceInputException(
                $"The request's 'binary_data_output' parameter must be true or false, not {Truncate(scan.BinaryDataOutput.Raw)}."),
        };

        return new InferenceRequest(id, inputs, outputs)
        {
            BinaryDataOutput = binaryDataOutput,
            BinaryDataByOutput = binaryDataByOutput ?? (IReadOnlyDictionary<string, bool>)System.Collections.ObjectModel.ReadOnlyDictionary<string, bool>.Empty,
        };
    }

    public static void WriteResponse(Utf8JsonWriter writer, InferenceResponse response) => WriteResponse(writer, response, binaryDataSizes: null);

    public static byte[] SerializeResponse(InferenceResponse response)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteResponse(writer, response);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Writes a response; an output with a size in <paramref name="binaryDataSizes"/> (same order as the outputs) is
    /// listed with that <c>binary_data_size</c> and no <c>data</c>, its bytes to follow the JSON.
    /// </summary>
    internal static void WriteResponse(Utf8JsonWriter writer, InferenceResponse response, IReadOnlyList<long?>? binaryDataSizes)
    {
        writer.WriteStartObject();
        writer.WriteString("model_name", response.ModelName);
        writer.WriteString("model_version", response.ModelVersion);
        if (response.Id is not null)
        {
            writer.WriteString("id", response.Id);
        }

        writer.WriteStartArray("outputs");
        for (var i = 0; i < response.Outputs.Count; i++)
        {
            var output = response.Outputs[i];
            writer.WriteStartObject();
            writer.WriteString("name", output.Name);
            writer.WriteString("datatype", output.Datatype);
            writer.WriteStartArray("shape");
            foreach (var dim in output.Shape)
            {
                writer.WriteNumberValue(dim);
            }

            writer.WriteEndArray();
            if (binaryDataSizes?[i] is { } size)
            {
                writer.WriteStartObject("parameters");
                writer.WriteNumber("binary_data_size", size);
                writer.WriteEndObject();
            }
            else
            {
                writer.WritePropertyName("data");
                WriteData(writer, output.Datatype, output.Data);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Checks one input in the order a reader would: name, datatype, shape, then its data.</summary>
    private static InferenceTensor BuildInput(ReadOnlySpan<byte> json, InputScan input, BinaryInputs? binary, ElementBudget budget)
    {
        if (!input.IsObject)
        {
            throw new InferenceInputException("Each entry of 'inputs' must be an object with 'name', 'datatype', 'shape' and 'data'.");
        }

        var name = RequiredString(input.Name, "name", "each entry of 'inputs'");
        var datatype = RequiredString(input.Datatype, "datatype", $"input '{name}'");
        if (!Datatypes.IsKnown(datatype))
        {
            throw new InferenceInputException(
                $"Input '{name}' has unknown datatype '{datatype}'; use one of {string.Join(", ", Datatypes.All)}.");
        }

        if (input.Shape is not { } shapeScan)
        {
            throw new InferenceInputException($"Input '{name}' must have a 'shape' array.");
        }

        if (shapeScan.Rank > MaxRank)
        {
            throw new InferenceInputException($"Input '{name}' has {shapeScan.Rank} dimensions; at most {MaxRank} are supported.");
        }

        if (shapeScan.FirstInvalidDim is { } invalid)
        {
            throw new InferenceInputException($"Input '{name}' has a shape entry that is not an integer from 0 to {int.MaxValue}: {invalid}.");
        }

        var shape = shapeScan.Dims;
        var expected = Shapes.ElementCount(name, shape);
        if (input.BinaryDataSize.Type != JsonTokenType.None)
        {
            return new InferenceTensor(name, datatype, shape, ReadBinary(input, name, datatype, shape, expected, binary));
        }

        if (input.Data is not { } data)
        {
            throw new InferenceInputException($"Input '{name}' has no 'data'.");
        }

        var scan = data.Scan is { } early && early.Datatype == datatype && early.Shape.AsSpan().SequenceEqual(shape)
            ? early
            : Rescan(json[data.Start..data.End], datatype, shape, expected, budget);

        if (scan.Leaves != expected)
        {
            throw new InferenceInputException(
                $"Input '{name}' has {scan.Leaves} data elements but shape {Shapes.Format(shape)} needs {expected}.");
        }

        if (!scan.NestingMatches)
        {
            throw new InferenceInputException(
                $"Input '{name}' has nested 'data' that does not follow shape {Shapes.Format(shape)}; nest it exactly by the shape or send it flat.");
        }

        if (scan.InvalidIndex >= 0)
        {
            throw new InferenceInputException(
                $"Input '{name}' element {scan.InvalidIndex} ({Truncate(scan.InvalidText!)}) is not a valid {datatype} value.");
        }

        return new InferenceTensor(name, datatype, shape, scan.Values);
    }

    private static Array ReadBinary(InputScan input, string name, string datatype, long[] shape, long expected, BinaryInputs? binary)
    {
        if (input.Data is not null)
        {
            throw new InferenceInputException(
                $"Input '{name}' has both 'data' and a 'binary_data_size' parameter; send its values either as JSON or as binary data.");
        }

        if (input.BinaryDataSize is not { Type: JsonTokenType.Number, Integer: >= 0 and var size })
        {
            throw new InferenceInputException(
                $"Input '{name}' has a 'binary_data_size' that is not a whole number of bytes: {Truncate(input.BinaryDataSize.Raw)}.");
        }

        if (binary is null)
        {
            throw new InferenceInputException(
                $"Input '{name}' has a 'binary_data_size' but the request has no binary data: send the JSON header's length in bytes as {OipBinary.HeaderContentLength} and the raw data after the JSON.");
        }

        return binary.Read(name, datatype, shape, expected, size);
    }

    private static string RequiredString(Token value, string property, string where)
    {
        if (value.Type != JsonTokenType.String || string.IsNullOrEmpty(value.Text))
        {
            throw new InferenceInputException($"'{property}' is required as a non-empty string in {where}.");
        }

        if (value.Text.Length > MaxNameLength)
        {
            throw new InferenceInputException(
                $"'{property}' in {where} is {value.Text.Length} characters long; at most {MaxNameLength} are accepted.");
        }

        return value.Text;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static void WriteData(Utf8JsonWriter writer, string datatype, Array data)
    {
        if (Datatypes.Of(data) != datatype)
        {
            throw new ArgumentException($"{datatype} data cannot be held in {data.GetType().Name}.", nameof(data));
        }

        writer.WriteStartArray();
        switch (datatype)
        {
            case Datatypes.Bool: foreach (var v in (bool[])data) { writer.WriteBooleanValue(v); } break;
            case Datatypes.UInt8: foreach (var v in (byte[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.UInt16: foreach (var v in (ushort[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.UInt32: foreach (var v in (uint[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.UInt64: foreach (var v in (ulong[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.Int8: foreach (var v in (sbyte[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.Int16: foreach (var v in (short[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.Int32: foreach (var v in (int[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.Int64: foreach (var v in (long[])data) { writer.WriteNumberValue(v); } break;
            case Datatypes.Fp16: foreach (var v in (Float16[])data) { WriteReal(writer, (float)v); } break;
            case Datatypes.Fp32: foreach (var v in (float[])data) { WriteReal(writer, v); } break;
            case Datatypes.Fp64: foreach (var v in (double[])data) { WriteReal(writer, v); } break;
            case Datatypes.Bytes: foreach (var v in (string[])data) { writer.WriteStringValue(v); } break;
            default: throw new ArgumentException($"Unknown datatype {datatype}.", nameof(datatype));
        }

        writer.WriteEndArray();
    }

    private static void WriteReal(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteReal(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }
}
