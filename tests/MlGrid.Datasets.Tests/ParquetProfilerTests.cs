using System.Globalization;
using System.Text;
using Parquet.Schema;

namespace MlGrid.Datasets.Tests;

public sealed class ParquetProfilerTests
{
    [Fact]
    public async Task Parquet_gives_the_same_profile_as_csv_of_the_same_data()
    {
        const int Rows = 3_000;
        var random = new Random(11);
        var id = Enumerable.Range(0, Rows).Select(i => (long)(i * 37 % Rows) - 500).ToArray();
        var bucket = Enumerable.Range(0, Rows).Select(i => i % 7 == 3 ? (int?)null : i % 5 * 10).ToArray();
        var score = Enumerable.Range(0, Rows).Select(i => i % 11 == 0 ? (double?)null : (random.NextDouble() * 1_000) - 300).ToArray();
        double[] ratios = [0.5, 1.25, -2.75];
        var ratio = Enumerable.Range(0, Rows).Select(i => ratios[i % 3]).ToArray();
        var label = Enumerable.Range(0, Rows).Select(i => i % 13 == 0 ? null : $"label{random.Next(30)}").ToArray();
        var flag = Enumerable.Range(0, Rows).Select(i => i % 5 == 0 ? (bool?)null : random.Next(3) == 0).ToArray();

        var parquet = await ParquetFiles.WriteAsync(
            [1_000, 1_500, 500],
            ParquetColumn.Required(new DataField<long>("id"), id),
            ParquetColumn.Of(new DataField<int?>("bucket"), bucket),
            ParquetColumn.Of(new DataField<double?>("score"), score),
            ParquetColumn.Required(new DataField<double>("ratio"), ratio),
            ParquetColumn.Strings("label", label),
            ParquetColumn.Of(new DataField<bool?>("flag"), flag));

        var csv = new StringBuilder("id,bucket,score,ratio,label,flag\n");
        for (var i = 0; i < Rows; i++)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{id[i]},{bucket[i]},{score[i]},{ratio[i]},{label[i]},{(flag[i] is { } f ? (f ? "true" : "false") : "")}\n");
        }

        var fromParquet = await ParquetFiles.ProfileAsync(parquet);
        var fromCsv = Csv.Profile(csv.ToString());

        Assert.Equal(Rows, fromParquet.Rows);
        Assert.Equal(
            [ColumnTypes.Integer, ColumnTypes.Integer, ColumnTypes.Float, ColumnTypes.Float, ColumnTypes.String, ColumnTypes.Boolean],
            fromParquet.Columns.Select(c => c.Type));
        Assert.Equal(Csv.Json(fromCsv), Csv.Json(fromParquet));
    }

    [Fact]
    public async Task Parquet_written_as_csv_is_the_csv_of_the_same_data_with_the_same_profile()
    {
        const int Rows = 2_000;
        var random = new Random(5);
        var id = Enumerable.Range(0, Rows).Select(i => (long)i - 700).ToArray();
        var score = Enumerable.Range(0, Rows).Select(i => i % 9 == 0 ? (double?)null : (random.NextDouble() * 100) - 30).ToArray();
        string?[] texts = ["plain", "with, comma", "with \"quotes\"", "two\nlines", null, ""];
        var text = Enumerable.Range(0, Rows).Select(i => texts[i % texts.Length]).ToArray();
        var flag = Enumerable.Range(0, Rows).Select(i => i % 4 == 0 ? (bool?)null : i % 3 == 0).ToArray();
        var parquet = await ParquetFiles.WriteAsync(
            [700, 1_000, 300],
            ParquetColumn.Required(new DataField<long>("id"), id),
            ParquetColumn.Of(new DataField<double?>("score"), score),
            ParquetColumn.Strings("text", text),
            ParquetColumn.Of(new DataField<bool?>("flag"), flag));

        var written = new StringWriter { NewLine = "\n" };
        var profile = await ParquetProfiler.WriteCsvAsync(new MemoryStream(parquet, writable: false), written, null, CancellationToken.None);

        var expected = new StringBuilder("id,score,text,flag\n");
        for (var i = 0; i < Rows; i++)
        {
            var field = text[i] is { } t && t.AsSpan().IndexOfAny(",\"\n") >= 0 ? $"\"{t.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text[i];
            expected.Append(CultureInfo.InvariantCulture, $"{id[i]},{score[i]},{field},{(flag[i] is { } f ? (f ? "true" : "false") : "")}\n");
        }

        Assert.Equal(expected.ToString(), written.ToString());
        Assert.Equal(Csv.Json(await ParquetFiles.ProfileAsync(parquet)), Csv.Json(profile));
        Assert.Equal(Csv.Json(profile), Csv.Json(Csv.Profile(written.ToString())));
    }

    [Fact]
    public async Task Row_groups_add_up_to_the_profile_of_one_group()
    {
        var values = Enumerable.Range(0, 10_000).Select(i => (double?)(i % 9 == 0 ? null : Math.Sin(i) * 100)).ToArray();
        var names = Enumerable.Range(0, 10_000).Select(i => $"n{i % 17}").ToArray();
        ParquetColumn[] columns = [ParquetColumn.Of(new DataField<double?>("v"), values), ParquetColumn.Strings("name", names)];

        var one = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync([10_000], columns));
        var many = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync([1, 999, 3_000, 6_000], columns));

        Assert.Equal(10_000, many.Rows);
        Assert.Equal(Csv.Json(one), Csv.Json(many));
        Assert.Equal(1_112, many.Column("v").Nulls);
        Assert.Equal(10_000, many.Column("v").Histogram!.Counts.Sum() + many.Column("v").Nulls);
    }

    [Fact]
    public async Task Integer_types_of_every_width_and_sign_are_integer()
    {
        var profile = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Required(new DataField<sbyte>("i8"), new sbyte[] { -128, 127 }),
            ParquetColumn.Required(new DataField<byte>("u8"), new byte[] { 0, 255 }),
            ParquetColumn.Required(new DataField<short>("i16"), new short[] { short.MinValue, 1 }),
            ParquetColumn.Required(new DataField<ushort>("u16"), new ushort[] { 2, ushort.MaxValue }),
            ParquetColumn.Required(new DataField<int>("i32"), new[] { int.MinValue, 3 }),
            ParquetColumn.Required(new DataField<uint>("u32"), new uint[] { 4, uint.MaxValue }),
            ParquetColumn.Required(new DataField<long>("i64"), new[] { long.MinValue, 5L }),
            ParquetColumn.Required(new DataField<ulong>("u64"), new[] { 6UL, ulong.MaxValue })));

        Assert.All(profile.Columns, c => Assert.Equal(ColumnTypes.Integer, c.Type));
        Assert.Equal(-128, profile.Column("i8").Min);
        Assert.Equal(uint.MaxValue, profile.Column("u32").Max);
        Assert.Equal(long.MinValue, profile.Column("i64").Min);
        Assert.Equal(ulong.MaxValue, profile.Column("u64").Max);
        Assert.Equal([new("18446744073709551615", 1), new("6", 1)], profile.Column("u64").TopValues);
    }

    [Fact]
    public async Task Floats_doubles_and_decimals_are_float_valued_as_their_text()
    {
        var profile = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Required(new DataField<float>("f32"), new[] { 0.1f, 0.2f }),
            ParquetColumn.Required(new DataField<double>("f64"), new[] { 0.1, 0.2 }),
            ParquetColumn.Of(new DecimalDataField("money", 10, 2, isNullable: true), new decimal?[] { 1.5m, null }),
            ParquetColumn.Of(new DecimalDataField("big", 38, 4, isNullable: true), new decimal?[] { -12345678901234567890.1234m, 0.0001m })));

        Assert.All(profile.Columns, c => Assert.Equal(ColumnTypes.Float, c.Type));

        // A FLOAT 0.1 is 0.1, as the text "0.1" in a CSV would be, not 0.100000001490116.
        Assert.Equal(0.1, profile.Column("f32").Min);
        Assert.Equal(Csv.Json(await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
                ParquetColumn.Required(new DataField<double>("f32"), new[] { 0.1, 0.2 })))),
            Csv.Json(new DatasetProfile(2, [profile.Column("f32")])));

        var money = profile.Column("money");
        Assert.Equal(1, money.Nulls);
        Assert.Equal(1.5, money.Mean);
        Assert.Equal([new("1.50", 1)], money.TopValues);

        var big = profile.Column("big");
        Assert.Equal(-12345678901234567890.1234, big.Min);
        Assert.Contains(new ValueCount("0.0001", 1), big.TopValues);
    }

    [Fact]
    public async Task Not_a_number_and_infinities_are_missing_values()
    {
        var column = (await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Required(new DataField<double>("x"), new[] { 1.0, double.NaN, double.PositiveInfinity, 3.0, double.NegativeInfinity })))).Column("x");

        Assert.Equal(ColumnTypes.Float, column.Type);
        Assert.Equal(3, column.Nulls);
        Assert.Equal(2, column.Mean);
        Assert.Equal(2, column.Histogram!.Counts.Sum());
    }

    [Fact]
    public async Task Nulls_and_empty_strings_are_missing_and_booleans_count_both_values()
    {
        var profile = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Strings("s", ["a", null, "", "a", "b"]),
            ParquetColumn.Of(new DataField<bool?>("b"), new bool?[] { true, null, false, true, true }),
            ParquetColumn.Of(new DataField<int?>("i"), new int?[] { null, 2, null, 4, null })));

        Assert.Equal(5, profile.Rows);
        Assert.Equal(2, profile.Column("s").Nulls);
        Assert.Equal([new("a", 2), new("b", 1)], profile.Column("s").TopValues);
        Assert.Equal(ColumnTypes.Boolean, profile.Column("b").Type);
        Assert.Equal(1, profile.Column("b").Nulls);
        Assert.Equal([new("true", 3), new("false", 1)], profile.Column("b").TopValues);
        Assert.Equal(3, profile.Column("i").Nulls);
        Assert.Equal(3, profile.Column("i").Mean);
    }

    [Fact]
    public async Task Strings_that_look_like_numbers_keep_the_declared_type()
    {
        var column = (await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(ParquetColumn.Strings("code", ["1", "2", "2"])))).Column("code");

        Assert.Equal(ColumnTypes.String, column.Type);
        Assert.Null(column.Mean);
        Assert.Equal([new("2", 2), new("1", 1)], column.TopValues);
    }

    [Fact]
    public async Task Dates_and_timestamps_are_iso_8601_strings()
    {
        var profile = await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Required(new DateTimeDataField("day", DateTimeFormat.Date, isNullable: false), new[] { new DateTime(2024, 2, 29), new DateTime(2024, 2, 29) }),
            ParquetColumn.Of(new DateTimeDataField("at", DateTimeFormat.Timestamp, isAdjustedToUTC: true, isNullable: true),
                new DateTime?[] { new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), new DateTime(2024, 1, 2, 3, 4, 5, 250, DateTimeKind.Utc) }),
            ParquetColumn.Of(new DateTimeDataField("local", DateTimeFormat.Timestamp, isAdjustedToUTC: false, isNullable: true),
                new DateTime?[] { new DateTime(2024, 1, 2, 3, 4, 5), null })));

        Assert.All(profile.Columns, c => Assert.Equal(ColumnTypes.String, c.Type));
        Assert.Equal([new("2024-02-29", 2)], profile.Column("day").TopValues);
        Assert.Equal([new("2024-01-02T03:04:05.25Z", 1), new("2024-01-02T03:04:05Z", 1)], profile.Column("at").TopValues);
        Assert.Equal([new("2024-01-02T03:04:05", 1)], profile.Column("local").TopValues);
    }

    [Fact]
    public async Task Bytes_without_a_text_type_are_base64_cut_to_the_value_limit()
    {
        var field = new DataField<byte[]>("blob", nullable: true);
        var blob = new ParquetColumn(field, 2, (rowGroup, _, _) => rowGroup.WriteAsync(field, [[1, 2, 3], new byte[1_000]]));

        var column = (await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(blob))).Column("blob");

        Assert.Equal(ColumnTypes.String, column.Type);
        Assert.Contains(new ValueCount("AQID", 1), column.TopValues);
        Assert.Contains(new ValueCount(new string('A', 256) + "\u2026", 1), column.TopValues);
    }

    [Fact]
    public async Task A_file_with_a_schema_and_no_rows_keeps_its_declared_types()
    {
        var file = await ParquetFiles.WriteAsync([],
            ParquetColumn.Of(new DataField<int?>("n"), Array.Empty<int?>()),
            ParquetColumn.Strings("s", []),
            ParquetColumn.Of(new DataField<bool?>("b"), Array.Empty<bool?>()));

        var profile = await ParquetFiles.ProfileAsync(file);

        Assert.Equal(0, profile.Rows);
        Assert.Equal(["n", "s", "b"], profile.Columns.Select(c => c.Name));
        Assert.Equal([ColumnTypes.Integer, ColumnTypes.String, ColumnTypes.Boolean], profile.Columns.Select(c => c.Type));
        Assert.All(profile.Columns, c =>
        {
            Assert.Equal(0, c.Nulls);
            Assert.Null(c.Min);
            Assert.Null(c.Mean);
            Assert.Null(c.Histogram);
            Assert.Empty(c.TopValues);
        });
    }

    [Fact]
    public async Task A_numeric_column_of_nulls_only_is_reported_without_statistics()
    {
        var column = (await ParquetFiles.ProfileAsync(await ParquetFiles.WriteAsync(
            ParquetColumn.Of(new DataField<double?>("x"), new double?[] { null, null })))).Column("x");

        Assert.Equal(ColumnTypes.Float, column.Type);
        Assert.Equal(2, column.Nulls);
        Assert.Null(column.Min);
        Assert.Null(column.Max);
        Assert.Null(column.Mean);
        Assert.Null(column.Std);
        Assert.Null(column.Histogram);
    }

    [Fact]
    public async Task Profile_reads_a_spooled_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, await ParquetFiles.WriteAsync([2, 2], ParquetColumn.Required(new DataField<int>("x"), new[] { 1, 2, 3, 4 })));
            await using var file = File.OpenRead(path);

            var profile = await ParquetProfiler.ProfileAsync(file, CancellationToken.None);

            Assert.Equal(4, profile.Rows);
            Assert.Equal(2.5, profile.Column("x").Mean);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
