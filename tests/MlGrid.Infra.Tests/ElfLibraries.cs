using System.Text;

namespace MlGrid.Infra.Tests;

/// <summary>Reads the shared libraries an ELF64 little-endian file names as DT_NEEDED (what `readelf -d` lists).</summary>
internal static class ElfLibraries
{
    private const uint SectionDynamic = 6;
    private const long TagNeeded = 1;

    public static IReadOnlyList<string> Needed(string path)
    {
        using var file = File.OpenRead(path);
        using var reader = new BinaryReader(file);
        var ident = reader.ReadBytes(16);
        Assert.True(ident is [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, ..], $"{path} is not a 64-bit little-endian ELF file");

        file.Position = 0x28;
        var sectionTable = reader.ReadInt64();
        file.Position = 0x3A;
        var sectionSize = reader.ReadUInt16();
        var sectionCount = reader.ReadUInt16();

        var sections = new List<(uint Type, long Offset, long Size, uint Link)>();
        for (var i = 0; i < sectionCount; i++)
        {
            file.Position = sectionTable + (long)i * sectionSize + 4;
            var type = reader.ReadUInt32();
            file.Position += 16; // flags, address
            var offset = reader.ReadInt64();
            var size = reader.ReadInt64();
            var link = reader.ReadUInt32();
            sections.Add((type, offset, size, link));
        }

        var dynamic = sections.Single(s => s.Type == SectionDynamic);
        var strings = sections[(int)dynamic.Link];
        var needed = new List<string>();
        for (var entry = dynamic.Offset; entry < dynamic.Offset + dynamic.Size; entry += 16)
        {
            file.Position = entry;
            var tag = reader.ReadInt64();
            var value = reader.ReadInt64();
            if (tag == 0)
            {
                break;
            }

            if (tag == TagNeeded)
            {
                file.Position = strings.Offset + value;
                var name = new List<byte>();
                for (var b = reader.ReadByte(); b != 0; b = reader.ReadByte())
                {
                    name.Add(b);
                }

                needed.Add(Encoding.ASCII.GetString([.. name]));
            }
        }

        return needed;
    }
}
