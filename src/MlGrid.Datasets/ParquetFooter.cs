using System.Reflection;
using Parquet.Meta;

namespace MlGrid.Datasets;

/// <summary>
/// Reads and checks a Parquet footer (the Thrift-encoded file metadata) before Parquet.Net opens the file. Parquet.Net
/// 6.1 reads the footer from an in-memory copy whose end reads as 0xFF bytes, on which its varint and struct readers
/// loop forever; it skips unknown list fields recursively, one stack frame per nested list header; and it builds the
/// schema tree recursively, one frame per nesting level. A damaged footer can therefore hang a thread or overflow the
/// stack (which ends the process). This decodes the footer once with Parquet.Net's own decoder over a stream that
/// throws at its end, after bounding how deep its recursion can go, and checks the schema is flat, so that opening
/// the file afterwards reads the same bytes the same way and cannot do either.
/// </summary>
internal static class ParquetFooter
{
    /// <summary>
    /// Parquet.Net's list skipping recurses once per list header that directly holds another list; legitimate
    /// metadata never nests lists, so a long run of such headers is damage (a frame is well under 300 bytes, so this
    /// many fit in any thread's stack with room to spare).
    /// </summary>
    internal const int MaxListHeaderRun = 1_000;

    private static readonly Func<Stream, FileMetaData> Decode = CreateDecoder();

    /// <summary>Decodes <paramref name="footer"/>, or throws a <see cref="DatasetFormatException"/> saying why it cannot be read.</summary>
    public static FileMetaData Read(byte[] footer)
    {
        var run = LongestListHeaderRun(footer);
        if (run > MaxListHeaderRun)
        {
            throw new DatasetFormatException($"the file metadata (footer) is corrupt: it holds {run} list headers in a row");
        }

        FileMetaData metadata;
        try
        {
            metadata = Decode(new StrictMemoryStream(footer));
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or DatasetFormatException))
        {
            throw new DatasetFormatException($"the file metadata (footer) cannot be read: {ParquetProfiler.Describe(ex)}", ex);
        }

        CheckFlatSchema(metadata);
        return metadata;
    }

    /// <summary>
    /// The longest run of bytes that Parquet.Net could read as list headers holding lists (low nibble 9, the compact
    /// protocol's list type; a high nibble of 15 means a varint size follows, whose bytes belong to the run too).
    /// Any recursion through nested lists reads such a run, wherever the decoder thinks it is in the structure.
    /// </summary>
    internal static int LongestListHeaderRun(ReadOnlySpan<byte> footer)
    {
        var longest = 0;
        var run = 0;
        var i = 0;
        while (i < footer.Length)
        {
            var b = footer[i++];
            if ((b & 0x0F) != 9)
            {
                run = 0;
                continue;
            }

            run++;
            if (b >> 4 == 0x0F)
            {
                while (i < footer.Length && (footer[i++] & 0x80) != 0)
                {
                    run++;
                }

                run++;
            }

            longest = Math.Max(longest, run);
        }

        return longest;
    }

    /// <summary>
    /// The schema is a root group followed by its children, depth first; a flat file has only leaves under the root.
    /// Checked here, on the decoded list, because Parquet.Net builds its schema tree recursively when it opens the file.
    /// </summary>
    private static void CheckFlatSchema(FileMetaData metadata)
    {
        var schema = metadata.Schema;
        if (schema is null || schema.Count == 0)
        {
            throw new DatasetFormatException("the file metadata (footer) has no schema");
        }

        var columns = schema[0].NumChildren ?? 0;
        for (var i = 1; i < schema.Count && i <= columns; i++)
        {
            var element = schema[i];
            if (element.NumChildren is > 0 || element.RepetitionType == FieldRepetitionType.REPEATED)
            {
                var kind = element switch
                {
                    { LogicalType.LIST: not null } or { ConvertedType: ConvertedType.LIST } => "a list",
                    { LogicalType.MAP: not null } or { ConvertedType: ConvertedType.MAP or ConvertedType.MAP_KEY_VALUE } => "a map",
                    { NumChildren: > 0 } => "a struct",
                    _ => "repeated",
                };
                throw new DatasetFormatException(ParquetProfiler.NotFlat(element.Name, kind));
            }
        }

        if (columns < 0 || schema.Count != columns + 1)
        {
            throw new DatasetFormatException(
                $"the file metadata (footer) is corrupt: its schema root has {columns} columns but {schema.Count - 1} follow it");
        }
    }

    /// <summary>Parquet.Net's footer decoder, which it keeps internal: <c>FileMetaData.Read(new ThriftCompactProtocolReader(stream))</c>.</summary>
    private static Func<Stream, FileMetaData> CreateDecoder()
    {
        var assembly = typeof(FileMetaData).Assembly;
        var readerType = assembly.GetType("Parquet.Meta.Proto.ThriftCompactProtocolReader");
        var constructor = readerType?.GetConstructor([typeof(Stream)]);
        var read = typeof(FileMetaData).GetMethod("Read", BindingFlags.Static | BindingFlags.NonPublic, [readerType ?? typeof(void)]);
        if (constructor is null || read is null)
        {
            throw new InvalidOperationException(
                $"Parquet.Net {assembly.GetName().Version} no longer has the footer decoder the Parquet profiler checks footers with; update {nameof(ParquetFooter)}.");
        }

        return stream =>
        {
            try
            {
                return (FileMetaData)read.Invoke(null, [constructor.Invoke([stream])])!;
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        };
    }

    /// <summary>A memory stream whose end is an error, not the -1 that Parquet.Net's decoder reads as 0xFF forever.</summary>
    private sealed class StrictMemoryStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override int ReadByte()
        {
            var b = base.ReadByte();
            return b >= 0 ? b : throw new EndOfStreamException("the file metadata (footer) ends in the middle of a value");
        }
    }
}
