using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class PageTokenTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(int.MaxValue)]
    public void Offsets_round_trip(int offset) => Assert.Equal(offset, PageToken.Decode(PageToken.Encode(offset)));

    [Fact]
    public void Missing_token_is_the_first_page()
    {
        Assert.Equal(0, PageToken.Decode(null));
        Assert.Equal(0, PageToken.Decode(""));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("b2Zmc2V0Oi0x")]
    [InlineData("aGVsbG8")]
    public void Foreign_tokens_are_refused(string token)
    {
        var error = Assert.Throws<TrackingException>(() => PageToken.Decode(token));
        Assert.Contains("page token", error.Message);
    }
}
