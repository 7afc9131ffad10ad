using System.Text;

namespace MlGrid.Datasets.Tests;

public sealed class ChunkingTests
{
    // Every construct that can straddle a chunk: BOM, multi-byte characters, CRLF, "" escapes, quoted newlines.
    private static readonly byte[] Sample =
    [
        .. Encoding.UTF8.GetPreamble(),
        .. Encoding.UTF8.GetBytes(
            "id,\"na,me\",score,flag,note\r\n" +
            "1,Zürich,1.5,true,\"he said \"\"hi\"\"\"\r\n" +
            "2,東京,-2,FALSE,\"multi\r\nline, with comma\"\r\n" +
            "\r\n" +
            "3,,1e3,,plain\n" +
            "4,\"\",7,true,\"\"\n" +
            "5,Zürich,0.125,false,x"),
    ];

    public static TheoryData<int> ChunkSizes => [1, 2, 3, 7, 64];

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void Any_chunking_gives_the_same_profile_as_one_piece(int chunkSize)
    {
        var whole = Csv.Profile(Sample);

        Assert.Equal(5, whole.Rows);
        Assert.Equal(Csv.Json(whole), Csv.Json(Csv.ProfileInChunks(Sample, chunkSize)));
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void Any_chunking_gives_the_same_error(int chunkSize)
    {
        var bytes = Encoding.UTF8.GetBytes("a,b\r\n\"x\r\ny\",1\r\n1,2,3\r\n");

        var whole = Csv.Error(bytes);
        var chunked = Assert.Throws<DatasetFormatException>(() => Csv.ProfileInChunks(bytes, chunkSize));

        Assert.Equal(whole.Message, chunked.Message);
        Assert.Equal(4, chunked.Line);
    }

    [Fact]
    public void A_file_that_only_starts_like_a_bom_is_read_as_data()
    {
        byte[] bytes = [0xEF, 0xBB];

        Assert.Contains("UTF-8", Assert.Throws<DatasetFormatException>(() => Csv.ProfileInChunks(bytes, 1)).Message, StringComparison.Ordinal);
    }
}
