using System.Text;

namespace MlGrid.Datasets.Tests;

public sealed class CsvSyntaxTests
{
    [Fact]
    public void Quoted_fields_hold_commas_escaped_quotes_and_newlines()
    {
        var column = Csv.Profile("id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,\"\"\"\"\n").Column("text");

        Assert.Equal(
            new[] { "\"", "a, b", "say \"hi\"", "two\nlines" },
            column.TopValues.Select(v => v.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Quoted_header_names_may_hold_commas()
    {
        var profile = Csv.Profile("\"a,b\",c\n1,2\n");

        Assert.Equal(["a,b", "c"], profile.Columns.Select(c => c.Name));
    }

    [Fact]
    public void Line_numbers_after_a_multi_line_field_count_physical_lines()
    {
        var error = Csv.Error("a,b\n\"x\ny\nz\",1\n1,2,3\n");

        Assert.Equal(5, error.Line);
        Assert.Equal("line 5 has 3 fields; the header has 2", error.Message);
    }

    [Fact]
    public void Line_numbers_count_crlf_once_inside_and_outside_quotes()
    {
        var error = Csv.Error("a,b\r\n\"x\r\ny\",1\r\n1\r\n");

        Assert.Equal(4, error.Line);
    }

    [Fact]
    public void Crlf_lf_and_cr_line_ends_give_the_same_profile()
    {
        var lf = Csv.Profile("a,b\n1,x\n2,\"p\nq\"\n");
        var crlf = Csv.Profile("a,b\r\n1,x\r\n2,\"p\nq\"\r\n");
        var cr = Csv.Profile("a,b\r1,x\r2,\"p\nq\"\r");

        Assert.Equal(Csv.Json(lf), Csv.Json(crlf));
        Assert.Equal(Csv.Json(lf), Csv.Json(cr));
    }

    [Fact]
    public void Trailing_newline_is_optional()
    {
        Assert.Equal(Csv.Json(Csv.Profile("a,b\n1,2\n")), Csv.Json(Csv.Profile("a,b\n1,2")));
        Assert.Equal(Csv.Json(Csv.Profile("a,b\n1,\"2\"\n")), Csv.Json(Csv.Profile("a,b\n1,\"2\"")));
    }

    [Fact]
    public void Trailing_comma_at_the_end_of_the_file_is_an_empty_last_field()
    {
        var profile = Csv.Profile("a,b\n1,");

        Assert.Equal(1, profile.Rows);
        Assert.Equal(1, profile.Column("b").Nulls);
    }

    [Fact]
    public void Blank_lines_are_skipped()
    {
        var profile = Csv.Profile("\na,b\n\n1,2\r\n\r\n3,4\n\n");

        Assert.Equal(2, profile.Rows);
    }

    [Fact]
    public void Utf8_bom_is_skipped()
    {
        var withBom = Csv.Profile([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("name,n\nx,1\n")]);

        Assert.Equal("name", withBom.Columns[0].Name);
        Assert.Equal(Csv.Json(Csv.Profile("name,n\nx,1\n")), Csv.Json(withBom));
    }

    [Fact]
    public void Multi_byte_text_is_decoded()
    {
        var column = Csv.Profile("city\nZürich\n東京\n").Column("city");

        Assert.Equal(["Zürich", "東京"], column.TopValues.Select(v => v.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Long_values_are_truncated_in_top_values()
    {
        var column = Csv.Profile("s\n" + new string('x', 300) + "\n").Column("s");

        Assert.Equal(new string('x', 256) + "\u2026", Assert.Single(column.TopValues).Value);
    }

    [Fact]
    public void Empty_file_is_an_error()
    {
        Assert.Null(Csv.Error("").Line);
        Assert.Contains("header", Csv.Error("\n\r\n").Message, StringComparison.Ordinal);
        Assert.Null(Csv.Error(Encoding.UTF8.GetPreamble()).Line);
    }

    [Fact]
    public void Row_with_too_many_fields_names_its_line()
    {
        var error = Csv.Error("a,b,c\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3\n1,2,3,4\n");

        Assert.Equal(7, error.Line);
        Assert.Equal("line 7 has 4 fields; the header has 3", error.Message);
    }

    [Fact]
    public void Row_with_too_few_fields_names_its_line()
    {
        var error = Csv.Error("a,b,c\n1,2,3\n1,2");

        Assert.Equal(3, error.Line);
        Assert.Equal("line 3 has 2 fields; the header has 3", error.Message);
    }

    [Fact]
    public void Unterminated_quote_names_the_line_it_opens_on()
    {
        var error = Csv.Error("a,b\n1,2\n3,\"open\nmore\n");

        Assert.Equal(3, error.Line);
        Assert.Equal("line 3: a quoted field is never closed", error.Message);
    }

    [Fact]
    public void Quote_inside_an_unquoted_field_is_an_error()
    {
        var error = Csv.Error("a,b\n1,2\n3,ab\"c\n");

        Assert.Equal(3, error.Line);
        Assert.Contains("quote inside an unquoted field", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_after_a_closing_quote_is_an_error()
    {
        var error = Csv.Error("a,b\n1,\"x\ny\"z\n");

        Assert.Equal(3, error.Line);
        Assert.Contains("closing quote", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_names_its_line_even_inside_a_multi_line_field()
    {
        byte[] plain = [.. "a,b\n1,x"u8, 0xFF, .. "\n"u8];
        byte[] multiLine = [.. "a,b\n1,\"x\ny\r\nz"u8, 0xC3, 0x28, .. "\"\n"u8];

        Assert.Equal(2, Csv.Error(plain).Line);
        Assert.Equal("line 2: the text is not valid UTF-8", Csv.Error(plain).Message);
        Assert.Equal(4, Csv.Error(multiLine).Line);
    }

    [Fact]
    public void Header_names_must_be_present_and_unique()
    {
        var empty = Csv.Error("a,,c\n1,2,3\n");
        var duplicate = Csv.Error("a,b,a\n1,2,3\n");

        Assert.Equal("line 1: column 2 of the header has no name", empty.Message);
        Assert.Equal("line 1: column name 'a' is used twice (columns 1 and 3)", duplicate.Message);
        Assert.Equal(1, duplicate.Line);
    }

    [Fact]
    public void Too_many_columns_is_an_error()
    {
        var error = Csv.Error("\n" + string.Join(",", Enumerable.Range(0, 11).Select(i => $"c{i}")) + "\n", new() { MaxColumns = 10 });

        Assert.Equal("line 2: the header has more than 10 columns", error.Message);
    }

    [Fact]
    public void Default_column_limit_is_ten_thousand()
    {
        var header = string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"c{i}"));

        Assert.Equal(1, Csv.Error(header).Line);
        Assert.Equal(10_000, Csv.Profile(header[..header.LastIndexOf(',')]).Columns.Count);
    }

    [Fact]
    public void Too_long_field_is_an_error()
    {
        var error = Csv.Error("a\nshort\n\"" + new string('x', 40) + "\n" + new string('y', 40) + "\"\n", new() { MaxFieldBytes = 64 });

        Assert.Equal(4, error.Line);
        Assert.Equal("line 4: a field is longer than 64 bytes", error.Message);
    }

    [Fact]
    public void Default_field_limit_is_one_mebibyte()
    {
        Assert.Equal(1, Csv.Profile("a\n" + new string('x', 1024 * 1024) + "\n").Rows);
        Assert.Equal(2, Csv.Error("a\n" + new string('x', (1024 * 1024) + 1) + "\n").Line);
    }

    [Fact]
    public void A_failed_profiler_takes_no_more_input()
    {
        var profiler = new CsvProfiler();
        profiler.Append("a\n\"x\""u8);

        Assert.Throws<DatasetFormatException>(() => profiler.Append("y\n"u8));
        Assert.Throws<ObjectDisposedException>(() => profiler.Append("\n"u8));
        Assert.Throws<ObjectDisposedException>(() => profiler.Complete());
    }

    [Fact]
    public async Task ProfileAsync_reads_a_stream_to_the_end()
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes("a,b\n1,x\n2,y\n"));

        var profile = await CsvProfiler.ProfileAsync(stream, CancellationToken.None);

        Assert.Equal(2, profile.Rows);
    }
}
