using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace MlGrid.Bench.Serving;

/// <summary>How tensors travel: JSON <c>data</c> arrays, or the binary tensor data extension.</summary>
internal enum TensorEncoding
{
    Json,
    Binary,
}

/// <summary>A pre-serialized inference request: its body, content type and, for binary tensors, the JSON header's length.</summary>
internal sealed record InferBody(TensorEncoding Encoding, byte[] Bytes, string ContentType, int? HeaderLength);

/// <summary>
/// Open Inference Protocol v2 request bodies and response decoding, for one FP32 input and one FP32 output.
/// Binary bodies follow the binary tensor data extension (KServe v2 / Triton): a JSON header, then the raw
/// little-endian tensor bytes; the header's length travels in <see cref="HeaderLengthHeader"/>.
/// </summary>
internal static class OipBodies
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
    public const string Fp32 = "FP32";

    public static InferBody Json(string id, string inputName, long[] shape, float[] data)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteStartArray("inputs");
            writer.WriteStartObject();
            WriteTensorHead(writer, inputName, shape);
            writer.WriteStartArray("data");
            foreach (var value in data)
            {
                writer.WriteNumberValue(value);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return new InferBody(TensorEncoding.Json, stream.ToArray(), "application/json", null);
    }

    /// <summary>A binary request that also asks for <paramref name="outputName"/> as binary data.</summary>
    public static InferBody Binary(string id, string inputName, long[] shape, float[] data, string outputName)
    {
        var tensorBytes = data.Length * sizeof(float);
        using var header = new MemoryStream();
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteString("id", id);
            writer.WriteStartArray("inputs");
            writer.WriteStartObject();
            WriteTensorHead(writer, inputName, shape);
            writer.WriteStartObject("parameters");
            writer.WriteNumber("binary_data_size", tensorBytes);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteStartArray("outputs");
            writer.WriteStartObject();
            writer.WriteString("name", outputName);
            writer.WriteStartObject("parameters");
            writer.WriteBoolean("binary_data", true);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var headerLength = checked((int)header.Length);
        var body = new byte[headerLength + tensorBytes];
        header.GetBuffer().AsSpan(0, headerLength).CopyTo(body);
        var raw = body.AsSpan(headerLength);
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(data.AsSpan()).CopyTo(raw);
        }
        else
        {
            for (var i = 0; i < data.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(raw[(i * sizeof(float))..], data[i]);
            }
        }

        return new InferBody(TensorEncoding.Binary, body, "application/octet-stream", headerLength);
    }

    /// <summary>
    /// The named FP32 output of a response: from its binary section when the response carries
    /// <see cref="HeaderLengthHeader"/>, from its JSON <c>data</c> otherwise.
    /// </summary>
    public static float[] DecodeOutput(byte[] body, int? headerLength, string outputName)
    {
        var jsonLength = headerLength ?? body.Length;
        if (jsonLength < 0 || jsonLength > body.Length)
        {
            throw new InvalidDataException($"{HeaderLengthHeader} is {jsonLength} but the body has {body.Length} bytes.");
        }

        using var document = JsonDocument.Parse(body.AsMemory(0, jsonLength));
        var binaryOffset = jsonLength;
        foreach (var output in document.RootElement.GetProperty("outputs").EnumerateArray())
        {
            var name = output.GetProperty("name").GetString();
            var binarySize = output.TryGetProperty("parameters", out var parameters)
                && parameters.TryGetProperty("binary_data_size", out var size) ? size.GetInt64() : (long?)null;
            if (name != outputName)
            {
                binaryOffset += checked((int)(binarySize ?? 0));
                continue;
            }

            if (output.GetProperty("datatype").GetString() != Fp32)
            {
                throw new InvalidDataException($"Output '{name}' is {output.GetProperty("datatype")}, not {Fp32}.");
            }

            if (binarySize is { } bytes)
            {
                if (headerLength is null)
                {
                    throw new InvalidDataException($"Output '{name}' has binary_data_size but the response has no {HeaderLengthHeader} header.");
                }

                if (bytes % sizeof(float) != 0 || binaryOffset + bytes > body.Length)
                {
                    throw new InvalidDataException($"Output '{name}' claims {bytes} binary bytes at offset {binaryOffset} of a {body.Length}-byte body.");
                }

                var values = new float[bytes / sizeof(float)];
                var raw = body.AsSpan(binaryOffset, (int)bytes);
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * sizeof(float))..]);
                }

                return values;
            }

            return output.GetProperty("data").EnumerateArray().Select(ReadFloat).ToArray();
        }

        throw new InvalidDataException($"The response has no output '{outputName}'.");
    }

    /// <summary>Whether a response carried its tensors as binary data.</summary>
    public static int? ResponseHeaderLength(HttpResponseMessage response)
    {
        var values = response.Headers.TryGetValues(HeaderLengthHeader, out var h) ? h
            : response.Content.Headers.TryGetValues(HeaderLengthHeader, out var c) ? c : null;
        var text = values?.FirstOrDefault();
        return text is null ? null : int.Parse(text, CultureInfo.InvariantCulture);
    }

    private static void WriteTensorHead(Utf8JsonWriter writer, string name, long[] shape)
    {
        writer.WriteString("name", name);
        writer.WriteString("datatype", Fp32);
        writer.WriteStartArray("shape");
        foreach (var dim in shape)
        {
            writer.WriteNumberValue(dim);
        }

        writer.WriteEndArray();
    }

    private static float ReadFloat(JsonElement element) => element.ValueKind == JsonValueKind.String
        ? element.GetString() switch
        {
            "NaN" => float.NaN,
            "Infinity" => float.PositiveInfinity,
            "-Infinity" => float.NegativeInfinity,
            var other => throw new InvalidDataException($"Unexpected string '{other}' in FP32 data."),
        }
        : element.GetSingle();
}
