using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MlGrid.Inference;

/// <summary>
/// The binary tensor data extension of the Open Inference Protocol (as KServe v2 and Triton define it): a body is a
/// JSON header of <see cref="HeaderContentLength"/> bytes followed by the raw data of every tensor the header lists
/// with a <c>binary_data_size</c> parameter, in the order it lists them. Raw data is little-endian and row-major; a
/// BOOL takes one byte (0 or 1); each BYTES element is a 4-byte little-endian length followed by that many bytes.
/// </summary>
public static class OipBinary
{
    /// <summary>The HTTP header that carries the JSON header's length in bytes, on requests and responses.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";

    /// <summary>The content type of a body with binary data.</summary>
    public const string ContentType = "application/octet-stream";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses a request body as it arrives over HTTP: when <paramref name="headerContentLength"/> (the value of the
    /// <see cref="HeaderContentLength"/> header) is given, the body is a JSON header of that many bytes followed by
    /// binary data; otherwise it is plain JSON, which an <see cref="ContentType"/> body cannot be.
    /// </summary>
    public static InferenceRequest ParseRequest(ReadOnlyMemory<byte> body, string? headerContentLength, string? contentType)
    {
        if (headerContentLength is null)
        {
            if (IsOctetStream(contentType))
            {
                throw new InferenceInputException(
                    $"A body of type {ContentType} needs the {HeaderContentLength} header: the length in bytes of the JSON inference header that starts it.");
            }

            return OipJson.ParseRequest(body);
        }

        if (!long.TryParse(headerContentLength, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw new InferenceInputException(
                $"{HeaderContentLength} must be the JSON header's length as a whole number of bytes, not '{Truncate(headerContentLength)}'.");
        }

        return ParseRequest(body, length);
    }

    /// <summary>Parses a body whose first <paramref name="headerLength"/> bytes are the JSON header and the rest binary input data.</summary>
    public static InferenceRequest ParseRequest(ReadOnlyMemory<byte> body, long headerLength)
    {
        if (headerLength < 0 || headerLength > body.Length)
        {
            throw new InferenceInputException(
                $"{HeaderContentLength} is {headerLength} but the body has only {body.Length} bytes.");
        }

        var binary = new BinaryInputs(body[(int)headerLength..]);
        var request = OipJson.ParseRequest(body[..(int)headerLength], binary);
        binary.EnsureAllRead();
        return request;
    }

    /// <summary>
    /// Serializes a response. Outputs <paramref name="isBinary"/> picks (by name) follow the JSON header as raw data;
    /// when it picks none the body is the plain JSON of <see cref="OipJson.SerializeResponse"/>.
    /// </summary>
    public static InferenceResponseBody SerializeResponse(InferenceResponse response, Func<string, bool> isBinary)
    {
        var sizes = new long?[response.Outputs.Count];
        long binaryLength = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            if (isBinary(response.Outputs[i].Name))
            {
                var size = RawSize(response.Outputs[i]);
                sizes[i] = size;
                binaryLength += size;
            }
        }

        if (Array.TrueForAll(sizes, s => s is null))
        {
            return new InferenceResponseBody(OipJson.SerializeResponse(response), null);
        }

        var header = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(header))
        {
            OipJson.WriteResponse(writer, response, sizes);
        }

        var content = GC.AllocateUninitializedArray<byte>(checked((int)(header.WrittenCount + binaryLength)));
        header.WrittenSpan.CopyTo(content);
        var position = header.WrittenCount;
        for (var i = 0; i < sizes.Length; i++)
        {
            if (sizes[i] is { } size)
            {
                WriteRaw(response.Outputs[i], content.AsSpan(position, (int)size));
                position += (int)size;
            }
        }

        return new InferenceResponseBody(content, header.WrittenCount);
    }

    /// <summary>How many bytes a tensor's data takes in raw form.</summary>
    public static long RawSize(InferenceTensor tensor)
    {
        CheckHolds(tensor);
        if (Datatypes.RawElementSize(tensor.Datatype) is { } width)
        {
            return (long)tensor.Data.Length * width;
        }

        long size = 0;
        foreach (var value in (string[])tensor.Data)
        {
            size += sizeof(uint) + Encoding.UTF8.GetByteCount(value);
        }

        return size;
    }

    /// <summary>Writes a tensor's data in raw form to <paramref name="destination"/>, which must be <see cref="RawSize"/> bytes long.</summary>
    public static void WriteRaw(InferenceTensor tensor, Span<byte> destination)
    {
        var size = RawSize(tensor);
        if (destination.Length != size)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' takes {size} bytes in raw form, not {destination.Length}.", nameof(destination));
        }

        if (Datatypes.RawElementSize(tensor.Datatype) is { } width)
        {
            BytesOf(tensor.Data, width).CopyTo(destination);
            if (!BitConverter.IsLittleEndian)
            {
                ReverseEndianness(destination, width);
            }

            return;
        }

        foreach (var value in (string[])tensor.Data)
        {
            var length = Encoding.UTF8.GetBytes(value, destination[sizeof(uint)..]);
            BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)length);
            destination = destination[(sizeof(uint) + length)..];
        }
    }

    /// <summary>Decodes the raw data of one input, checking it against the input's datatype and shape.</summary>
    internal static Array ReadRaw(string name, string datatype, long[] shape, long elementCount, ReadOnlySpan<byte> raw)
    {
        if (Datatypes.RawElementSize(datatype) is not { } width)
        {
            return ReadStrings(name, shape, elementCount, raw);
        }

        CheckSize(name, datatype, shape, elementCount, raw.Length);
        if (datatype == Datatypes.Bool && raw.IndexOfAnyExcept((byte)0, (byte)1) is var invalid and >= 0)
        {
            throw new InferenceInputException(
                $"Input '{name}' BOOL element {invalid} is the byte {raw[invalid]}; raw BOOL data takes one byte per element, 0 or 1.");
        }

        var values = NewUninitializedArray(datatype, raw.Length / width);
        var bytes = BytesOf(values, width);
        raw.CopyTo(bytes);
        if (!BitConverter.IsLittleEndian)
        {
            ReverseEndianness(bytes, width);
        }

        return values;
    }

    /// <summary>Checks that a fixed-size datatype's binary_data_size is exactly what the shape holds.</summary>
    internal static void CheckSize(string name, string datatype, long[] shape, long elementCount, long size)
    {
        if (Datatypes.RawElementSize(datatype) is { } width && (size % width != 0 || size / width != elementCount))
        {
            throw new InferenceInputException(
                $"Input '{name}' has a binary_data_size of {size} bytes but shape {Shapes.Format(shape)} holds {elementCount} {datatype} elements of {width} bytes, {(Int128)elementCount * width} bytes in all.");
        }
    }

    private static string[] ReadStrings(string name, long[] shape, long elementCount, ReadOnlySpan<byte> raw)
    {
        // Each element takes at least its 4-byte length: a shape that holds more cannot fit, and nothing is allocated for it.
        if (elementCount > raw.Length / sizeof(uint))
        {
            throw new InferenceInputException(
                $"Input '{name}' has a binary_data_size of {raw.Length} bytes but shape {Shapes.Format(shape)} holds {elementCount} BYTES elements, which take at least 4 bytes each for their lengths.");
        }

        var values = new string[elementCount];
        var position = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (raw.Length - position < sizeof(uint))
            {
                throw new InferenceInputException(
                    $"Input '{name}' BYTES element {i} has no room for its 4-byte length: its binary_data_size of {raw.Length} bytes ends after {i} of the {elementCount} elements shape {Shapes.Format(shape)} holds.");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(raw[position..]);
            position += sizeof(uint);
            if (length > (uint)(raw.Length - position))
            {
                throw new InferenceInputException(
                    $"Input '{name}' BYTES element {i} has a length of {length} bytes but only {raw.Length - position} of its binary_data_size of {raw.Length} bytes are left.");
            }

            try
            {
                values[i] = StrictUtf8.GetString(raw.Slice(position, (int)length));
            }
            catch (DecoderFallbackException ex)
            {
                throw new InferenceInputException(
                    $"Input '{name}' BYTES element {i} is not valid UTF-8; ONNX string tensors hold text.", ex);
            }

            position += (int)length;
        }

        if (position != raw.Length)
        {
            throw new InferenceInputException(
                $"Input '{name}' has {raw.Length - position} bytes left over in its binary_data_size of {raw.Length} bytes after the {elementCount} BYTES elements shape {Shapes.Format(shape)} holds.");
        }

        return values;
    }

    private static void CheckHolds(InferenceTensor tensor)
    {
        if (Datatypes.Of(tensor.Data) != tensor.Datatype)
        {
            throw new ArgumentException($"{tensor.Datatype} data cannot be held in {tensor.Data.GetType().Name}.", nameof(tensor));
        }
    }

    /// <summary>The bytes of an array of a fixed-size datatype, in place.</summary>
    private static Span<byte> BytesOf(Array values, int width) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(values), checked(values.Length * width));

    private static Array NewUninitializedArray(string datatype, int length) => datatype switch
    {
        Datatypes.Bool => GC.AllocateUninitializedArray<bool>(length),
        Datatypes.UInt8 => GC.AllocateUninitializedArray<byte>(length),
        Datatypes.UInt16 => GC.AllocateUninitializedArray<ushort>(length),
        Datatypes.UInt32 => GC.AllocateUninitializedArray<uint>(length),
        Datatypes.UInt64 => GC.AllocateUninitializedArray<ulong>(length),
        Datatypes.Int8 => GC.AllocateUninitializedArray<sbyte>(length),
        Datatypes.Int16 => GC.AllocateUninitializedArray<short>(length),
        Datatypes.Int32 => GC.AllocateUninitializedArray<int>(length),
        Datatypes.Int64 => GC.AllocateUninitializedArray<long>(length),
        Datatypes.Fp16 => GC.AllocateUninitializedArray<Float16>(length),
        Datatypes.Fp32 => GC.AllocateUninitializedArray<float>(length),
        Datatypes.Fp64 => GC.AllocateUninitializedArray<double>(length),
        _ => throw new ArgumentOutOfRangeException(nameof(datatype), datatype, "Not a fixed-size datatype."),
    };

    /// <summary>Turns little-endian elements into the machine's order and back; only big-endian machines need it.</summary>
    private static void ReverseEndianness(Span<byte> bytes, int width)
    {
        switch (width)
        {
            case 2:
                var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
                BinaryPrimitives.ReverseEndianness(halves, halves);
                break;
            case 4:
                var words = MemoryMarshal.Cast<byte, uint>(bytes);
                BinaryPrimitives.ReverseEndianness(words, words);
                break;
            case 8:
                var longs = MemoryMarshal.Cast<byte, ulong>(bytes);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }

    private static bool IsOctetStream(string? contentType) =>
        contentType is not null && contentType.Split(';', 2)[0].Trim().Equals(ContentType, StringComparison.OrdinalIgnoreCase);

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

/// <summary>
/// The binary data after a request's JSON header, handed out input by input in the order the header lists them.
/// </summary>
internal sealed class BinaryInputs(ReadOnlyMemory<byte> bytes)
{
    private int _offset;

    public Array Read(string name, string datatype, long[] shape, long elementCount, long size)
    {
        OipBinary.CheckSize(name, datatype, shape, elementCount, size);
        var left = bytes.Length - _offset;
        if (size > left)
        {
            throw new InferenceInputException(
                $"Input '{name}' has a binary_data_size of {size} bytes but only {left} of the {bytes.Length} bytes of binary data after the JSON header are left for it.");
        }

        var raw = bytes.Span.Slice(_offset, (int)size);
        _offset += (int)size;
        return OipBinary.ReadRaw(name, datatype, shape, elementCount, raw);
    }

    public void EnsureAllRead()
    {
        if (_offset != bytes.Length)
        {
            throw new InferenceInputException(
                $"The body has {bytes.Length} bytes of binary data after the JSON header but the binary_data_size of its inputs add up to {_offset}.");
        }
    }
}

/// <summary>A serialized response and the length of its JSON header when binary output data follows it.</summary>
public sealed record InferenceResponseBody(byte[] Content, int? JsonHeaderLength)
{
    /// <summary><c>application/json</c>, or <see cref="OipBinary.ContentType"/> when binary data follows the JSON header.</summary>
    public string ContentType => JsonHeaderLength is null ? "application/json" : OipBinary.ContentType;
}
