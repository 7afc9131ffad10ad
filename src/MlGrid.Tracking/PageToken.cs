using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace MlGrid.Tracking;

/// <summary>
/// The opaque <c>page_token</c> of MLflow searches: the offset of the next page in the search's order. A token that
/// does not decode is the caller's mistake, reported as an invalid parameter.
/// </summary>
public static class PageToken
{
    private const string Prefix = "offset:";

    public static string Encode(int offset) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Prefix + offset.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The offset a token names; 0 for a missing or empty token.</summary>
    public static int Decode(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            if (text.StartsWith(Prefix, StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                return offset;
            }
        }
        catch (FormatException)
        {
        }

        throw new TrackingException($"Invalid page token '{token}': pass the next_page_token of the previous answer unchanged.");
    }
}
