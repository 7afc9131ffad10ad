using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference;

/// <summary>Reads Open Inference Protocol v2 JSON requests and writes its responses.</summary>
public static class OipJson
{
    /// <summary>Deepest nesting a request may have: the envelope plus nested <c>data</c> arrays of up to 16 dimensions.</summary>
    public const int MaxDepth = 24;

    /// <summary>The most dimensions a tensor may have.</summary>
    public const int MaxRank = 16;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Parses a request body; an <see cref="InferenceInputException"/> says what is wrong with it.</summary>
    public static InferenceRequest ParseRequest(ReadOnlyMemory<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new InferenceInputException($"The request body is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InferenceInputException("The request body must be a JSON object with an 'inputs' array.");
            }

            string? id = null;
            if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
            {
                id = idElement.ValueKind == JsonValueKind.String
                    ? idElement.GetString()
                    : throw new InferenceInputException("'id' must be a string.");
            }

            if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array)
            {
                throw new InferenceInputException("The request must have an 'inputs' array.");
            }

            var inputs = new List<InferenceTensor>(inputsElement.GetArrayLength());
            foreach (var input in inputsElement.EnumerateArray())
            {
                inputs.Add(ParseInput(input));
            }

            List<string>? outputs = null;
            if (root.TryGetProperty("outputs", out var outputsElement) && outputsElement.ValueKind != JsonValueKind.Null)
            {
                if (outputsElement.ValueKind != JsonValueKind.Array)
                {
                    throw new InferenceInputException("'outputs' must be an array of objects with a 'name'.");
                }

                outputs = [];
                foreach (var output in outputsElement.EnumerateArray())
                {
                    outputs.Add(RequiredString(output, "name", "each entry of 'outputs'"));
                }
            }

            return new InferenceRequest(id, inputs, outputs);
        }
    }

    public static void WriteResponse(Utf8JsonWriter writer, InferenceResponse response)
    {
        writer.WriteStartObject();
        writer.WriteString("model_name", response.ModelName);
        writer.WriteString("model_version", response.ModelVersion);
        if (response.Id is not null)
        {
            writer.WriteString("id", response.Id);
        }

        writer.WriteStartArray("outputs");
        foreach (var output in response.Outputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name", output.Name);
            writer.WriteString("datatype", output.Datatype);
            writer.WriteStartArray("shape");
            foreach (var dim in output.Shape)
            {
                writer.WriteNumberValue(dim);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("data");
            WriteData(writer, output.Datatype, output.Data);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static byte[] SerializeResponse(InferenceResponse response)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteResponse(writer, response);
        }

        return buffer.ToArray();
    }

    private static InferenceTensor ParseInput(JsonElement input)
    {
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw new InferenceInputException("Each entry of 'inputs' must be an object with 'name', 'datatype', 'shape' and 'data'.");
        }

        var name = RequiredString(input, "name", "each entry of 'inputs'");
        var datatype = RequiredString(input, "datatype", $"input '{name}'");
        if (!Datatypes.IsKnown(datatype))
        {
            throw new InferenceInputException(
                $"Input '{name}' has unknown datatype '{datatype}'; use one of {string.Join(", ", Datatypes.All)}.");
        }

        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InferenceInputException($"Input '{name}' must have a 'shape' array.");
        }

        if (shapeElement.GetArrayLength() > MaxRank)
        {
            throw new InferenceInputException($"Input '{name}' has {shapeElement.GetArrayLength()} dimensions; at most {MaxRank} are supported.");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var value) || value < 0 || value > int.MaxValue)
            {
                throw new InferenceInputException($"Input '{name}' has a shape entry that is not an integer from 0 to {int.MaxValue}: {dim.GetRawText()}.");
            }

            shape[i++] = value;
        }

        var expected = Shapes.ElementCount(name, shape);
        if (!input.TryGetProperty("data", out var dataElement))
        {
            throw new InferenceInputException($"Input '{name}' has no 'data'.");
        }

        var actual = CountLeaves(dataElement);
        if (actual != expected)
        {
            throw new InferenceInputException(
                $"Input '{name}' has {actual} data elements but shape {Shapes.Format(shape)} needs {expected}.");
        }

        if (!NestingMatches(dataElement, shape))
        {
            throw new InferenceInputException(
                $"Input '{name}' has nested 'data' that does not follow shape {Shapes.Format(shape)}; nest it exactly by the shape or send it flat.");
        }

        var data = Datatypes.NewArray(datatype, checked((int)expected));
        var index = 0;
        Fill(name, datatype, dataElement, data, ref index);
        return new InferenceTensor(name, datatype, shape, data);
    }

    private static string RequiredString(JsonElement element, string property, string where)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty(property, out var value)
            || value.ValueKind != JsonValueKind.String
            || string.IsNullOrEmpty(value.GetString()))
        {
            throw new InferenceInputException($"'{property}' is required as a non-empty string in {where}.");
        }

        return value.GetString()!;
    }

    /// <summary>Flat data always matches; nested data must nest one level per dimension with the shape's lengths.</summary>
    private static bool NestingMatches(JsonElement data, long[] shape)
    {
        if (data.ValueKind != JsonValueKind.Array || !data.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Array))
        {
            return true;
        }

        return Nested(data, shape, 0);

        static bool Nested(JsonElement element, long[] shape, int level)
        {
            if (level == shape.Length)
            {
                return element.ValueKind != JsonValueKind.Array;
            }

            if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() != shape[level])
            {
                return false;
            }

            foreach (var item in element.EnumerateArray())
            {
                if (!Nested(item, shape, level + 1))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private static long CountLeaves(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            return 1;
        }

        long count = 0;
        foreach (var item in element.EnumerateArray())
        {
            count += CountLeaves(item);
        }

        return count;
    }

    private static void Fill(string name, string datatype, JsonElement element, Array data, ref int index)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Fill(name, datatype, item, data, ref index);
            }

            return;
        }

        // Dispatch on the datatype, not the array's type: the runtime lets sbyte[] pass as byte[] and so on.
        var ok = datatype switch
        {
            Datatypes.Bool => TryBool(element, out ((bool[])data)[index]),
            Datatypes.UInt8 => TryInteger(element, byte.MinValue, byte.MaxValue, out var v) && Set((byte[])data, index, (byte)v),
            Datatypes.UInt16 => TryInteger(element, ushort.MinValue, ushort.MaxValue, out var v) && Set((ushort[])data, index, (ushort)v),
            Datatypes.UInt32 => TryInteger(element, uint.MinValue, uint.MaxValue, out var v) && Set((uint[])data, index, (uint)v),
            Datatypes.UInt64 => element.ValueKind == JsonValueKind.Number && element.TryGetUInt64(out ((ulong[])data)[index]),
            Datatypes.Int8 => TryInteger(element, sbyte.MinValue, sbyte.MaxValue, out var v) && Set((sbyte[])data, index, (sbyte)v),
            Datatypes.Int16 => TryInteger(element, short.MinValue, short.MaxValue, out var v) && Set((short[])data, index, (short)v),
            Datatypes.Int32 => TryInteger(element, int.MinValue, int.MaxValue, out var v) && Set((int[])data, index, (int)v),
            Datatypes.Int64 => element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out ((long[])data)[index]),
            Datatypes.Fp16 => TryReal(element, out var v) && Fits((float)(Float16)(float)v, v) && Set((Float16[])data, index, (Float16)(float)v),
            Datatypes.Fp32 => TryReal(element, out var v) && Fits((float)v, v) && Set((float[])data, index, (float)v),
            Datatypes.Fp64 => TryReal(element, out var v) && Set((double[])data, index, v),
            Datatypes.Bytes => element.ValueKind == JsonValueKind.String && Set((string[])data, index, element.GetString()!),
            _ => false,
        };

        if (!ok)
        {
            throw new InferenceInputException(
                $"Input '{name}' element {index} ({Truncate(element.GetRawText())}) is not a valid {datatype} value.");
        }

        index++;
    }

    private static bool Set<T>(T[] array, int index, T value)
    {
        array[index] = value;
        return true;
    }

    /// <summary>A finite value must stay finite in the narrower type: 1e39 is not an FP32.</summary>
    private static bool Fits(float narrowed, double value) => float.IsFinite(narrowed) || !double.IsFinite(value);

    private static bool TryBool(JsonElement element, out bool value)
    {
        value = element.ValueKind == JsonValueKind.True;
        return element.ValueKind is JsonValueKind.True or JsonValueKind.False;
    }

    private static bool TryInteger(JsonElement element, long min, long max, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value) && value >= min && value <= max;
    }

    private static bool TryReal(JsonElement element, out double value)
    {
        if (element.ValueKind == JsonValueKind.Number)
        {
            // The reader turns 1e400 into infinity; a number token must stay a finite number.
            return element.TryGetDouble(out value) && double.IsFinite(value);
        }

        // JSON has no NaN or infinities; they travel as these strings both ways.
        value = element.ValueKind == JsonValueKind.String ? element.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => 0,
        } : 0;
        return element.ValueKind == JsonValueKind.String && (double.IsNaN(value) || double.IsInfinity(value));
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
