using System.Text;
using Parquet;
using Parquet.Schema;

namespace MlGrid.Datasets.Tests;

public sealed class ParquetErrorTests
{
    private static Task<byte[]> SampleAsync() => ParquetFiles.WriteAsync(
        [3, 3],
        ParquetColumn.Required(new DataField<int>("a"), new[] { 1, 2, 3, 4, 5, 6 }),
        ParquetColumn.Strings("b", ["x", "y", "z", "x", "y", "z"]));

    [Fact]
    public async Task Csv_bytes_are_not_parquet()
    {
        var error = await ParquetFiles.ErrorAsync(Encoding.UTF8.GetBytes("a,b\n1,2\n3,4\n5,6\n"));

        Assert.Equal("the file is not Parquet: it does not start with 'PAR1'", error.Message);
        Assert.Null(error.Line);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(11)]
    public async Task A_file_too_short_to_be_parquet_is_refused(int length)
    {
        var error = await ParquetFiles.ErrorAsync((await SampleAsync())[..length]);

        Assert.Contains($"the file is {length} bytes, too short to be Parquet", error.Message);
    }

    [Fact]
    public async Task A_truncated_file_is_refused_for_its_missing_end()
    {
        var file = await SampleAsync();

        foreach (var cut in new[] { file.Length / 2, file.Length - 1, 12 })
        {
            var error = await ParquetFiles.ErrorAsync(file[..cut]);
            Assert.Equal(
                "the file does not end with 'PAR1': it is truncated, or not Parquet (a Parquet file keeps its metadata at the end)",
                error.Message);
        }
    }

    [Fact]
    public async Task A_footer_length_past_the_start_of_the_file_is_refused()
    {
        var file = await SampleAsync();
        BitConverter.GetBytes(file.Length).CopyTo(file, file.Length - 8);

        var error = await ParquetFiles.ErrorAsync(file);

        Assert.StartsWith($"the footer length ({file.Length} bytes) does not fit in the {file.Length}-byte file", error.Message);
    }

    [Fact]
    public async Task A_corrupt_footer_is_refused_as_unreadable_metadata()
    {
        var file = await SampleAsync();
        var footerLength = BitConverter.ToInt32(file, file.Length - 8);
        file.AsSpan(file.Length - 8 - footerLength, footerLength).Fill(0xFF);

        var error = await ParquetFiles.ErrorAsync(file);

        Assert.StartsWith("the file metadata (footer) cannot be read: ", error.Message);
    }

    [Fact]
    public async Task A_footer_cut_short_is_refused_instead_of_read_past_its_end()
    {
        // Parquet.Net's own decoder reads past the end of a footer as 0xFF bytes and loops forever.
        var file = await SampleAsync();
        var footerLength = BitConverter.ToInt32(file, file.Length - 8);
        var footerStart = file.Length - 8 - footerLength;
        var half = footerLength / 2;
        byte[] cut = [.. file.AsSpan(0, footerStart + half), .. BitConverter.GetBytes(half), .. "PAR1"u8];

        var error = await ParquetFiles.ErrorAsync(cut).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("the file metadata (footer) cannot be read: ", error.Message);
    }

    [Fact]
    public async Task A_footer_of_deeply_nested_lists_is_refused_before_it_is_decoded()
    {
        // Decoded, each nested list would cost Parquet.Net a stack frame: enough of them end the process.
        byte[] footer = [0x09, 0xC8, 0x01, .. Enumerable.Repeat((byte)0x19, 5_000), 0x00, 0x00];
        byte[] file = [.. "PAR1"u8, .. footer, .. BitConverter.GetBytes(footer.Length), .. "PAR1"u8];

        var error = await ParquetFiles.ErrorAsync(file);

        Assert.Equal("the file metadata (footer) is corrupt: it holds 5000 list headers in a row", error.Message);
    }

    [Fact]
    public async Task Corrupt_column_data_is_refused_naming_the_row_group_and_column()
    {
        var file = await SampleAsync();
        long offset;
        await using (var reader = await ParquetReader.CreateAsync(new MemoryStream(file)))
        {
            var b = reader.Schema.DataFields[1];
            var metadata = reader.OpenRowGroupReader(1).GetMetadata(b)!.MetaData!;
            offset = metadata.DictionaryPageOffset is { } dictionary && dictionary > 0 ? dictionary : metadata.DataPageOffset;
        }

        file.AsSpan((int)offset, 12).Fill(0xFF);

        var error = await ParquetFiles.ErrorAsync(file);

        Assert.StartsWith("row group 2 of 2, column 'b': the data cannot be read: ", error.Message);
    }

    [Fact]
    public async Task Random_damage_is_refused_or_profiled_but_never_escapes_or_hangs()
    {
        var file = await SampleAsync();
        var random = new Random(5);
        for (var attempt = 0; attempt < 1_000; attempt++)
        {
            var damaged = (byte[])file.Clone();
            for (var i = 0; i < 4; i++)
            {
                damaged[random.Next(4, damaged.Length - 8)] = (byte)random.Next(256);
            }

            try
            {
                var profile = await ParquetFiles.ProfileAsync(damaged).WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(2, profile.Columns.Count);
            }
            catch (DatasetFormatException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
            }
        }
    }

    [Fact]
    public async Task Nested_and_repeated_columns_are_refused_by_name()
    {
        var list = new ListField("tags", new DataField<int>("item"));
        var listFile = await ParquetFiles.WriteAsync(
            [2],
            ParquetColumn.Required(new DataField<int>("id"), new[] { 1, 2 }),
            new ParquetColumn(list, 2, (rowGroup, _, _) => rowGroup.WriteAllPartsAsync<int>(
                list.Item as DataField ?? throw new InvalidOperationException(), new[] { 1, 2, 3 }, new[] { 2, 2, 2 }, new[] { 0, 1, 0 }, default)));

        var structField = new StructField("point", new DataField<int?>("x"));
        var structFile = await ParquetFiles.WriteAsync(
            [1],
            new ParquetColumn(structField, 1, (rowGroup, _, _) => rowGroup.WriteAsync<int>((DataField)structField.Fields[0], new int?[] { 1 }.AsMemory())));

        Assert.Equal(
            "column 'tags' is a list: only flat columns (one value per row) can be profiled; flatten it, or leave it out, before uploading",
            (await ParquetFiles.ErrorAsync(listFile)).Message);
        Assert.StartsWith("column 'point' is a struct: ", (await ParquetFiles.ErrorAsync(structFile)).Message);
    }

    [Fact]
    public async Task A_column_chunk_over_the_memory_limit_is_refused_with_the_fix()
    {
        var file = await ParquetFiles.WriteAsync([1_000, 10], ParquetColumn.Required(new DataField<long>("x"), new long[1_010]));
        var options = new ProfilerOptions { MaxColumnChunkBytes = 4_000 };

        var error = await ParquetFiles.ErrorAsync(file, options);

        Assert.Matches(
            "^row group 1 of 2, column 'x': the chunk needs [0-9]+ bytes in memory, over the 4000-byte limit per column chunk; write the file with smaller row groups$",
            error.Message);
        Assert.Equal(1_010, (await ParquetFiles.ProfileAsync(file)).Rows);
    }

    [Fact]
    public async Task Too_many_columns_are_refused()
    {
        var file = await SampleAsync();

        var error = await ParquetFiles.ErrorAsync(file, new ProfilerOptions { MaxColumns = 1 });

        Assert.Equal("the file has 2 columns; at most 1 are profiled", error.Message);
    }

    [Fact]
    public async Task A_stream_that_cannot_seek_is_a_caller_error()
    {
        var file = await SampleAsync();
        await using var stream = new NonSeekable(file);

        await Assert.ThrowsAsync<ArgumentException>(() => ParquetProfiler.ProfileAsync(stream, CancellationToken.None));
    }

    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
