#include "connect/modbus_map.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tagstream {
namespace {

ModbusTag tag_of(ModbusType type, ModbusOrder word = ModbusOrder::big, ModbusOrder byte = ModbusOrder::big) {
  ModbusTag t;
  t.name = "t";
  t.type = type;
  t.word_order = word;
  t.byte_order = byte;
  return t;
}

double decode(const ModbusTag& t, std::vector<std::uint16_t> regs) {
  return decode_registers(t, regs);
}

constexpr auto kBig = ModbusOrder::big;
constexpr auto kLittle = ModbusOrder::little;

TEST(ModbusDecode, SixteenBitTypes) {
  EXPECT_EQ(decode(tag_of(ModbusType::int16), {0xFFFE}), -2);
  EXPECT_EQ(decode(tag_of(ModbusType::uint16), {0xFFFE}), 65534);
  EXPECT_EQ(decode(tag_of(ModbusType::int16), {0x7FFF}), 32767);
  // Byte order swaps the two bytes of the register.
  EXPECT_EQ(decode(tag_of(ModbusType::uint16, kBig, kLittle), {0x3412}), 0x1234);
  EXPECT_EQ(decode(tag_of(ModbusType::int16, kBig, kLittle), {0xFEFF}), -2);
}

TEST(ModbusDecode, ThirtyTwoBitOrders) {
  // 0x12345678 laid out four ways: ABCD, CDAB, BADC, DCBA.
  EXPECT_EQ(decode(tag_of(ModbusType::uint32, kBig, kBig), {0x1234, 0x5678}), 0x12345678);
  EXPECT_EQ(decode(tag_of(ModbusType::uint32, kLittle, kBig), {0x5678, 0x1234}), 0x12345678);
  EXPECT_EQ(decode(tag_of(ModbusType::uint32, kBig, kLittle), {0x3412, 0x7856}), 0x12345678);
  EXPECT_EQ(decode(tag_of(ModbusType::uint32, kLittle, kLittle), {0x7856, 0x3412}), 0x12345678);
  EXPECT_EQ(decode(tag_of(ModbusType::int32), {0xFFFF, 0xFFFE}), -2);
  EXPECT_EQ(decode(tag_of(ModbusType::int32, kLittle), {0xFFFE, 0xFFFF}), -2);
  EXPECT_EQ(decode(tag_of(ModbusType::uint32), {0xFFFF, 0xFFFE}), 4294967294.0);
  // 1.5f is 0x3FC00000.
  EXPECT_EQ(decode(tag_of(ModbusType::float32), {0x3FC0, 0x0000}), 1.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float32, kLittle), {0x0000, 0x3FC0}), 1.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float32, kBig, kLittle), {0xC03F, 0x0000}), 1.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float32, kLittle, kLittle), {0x0000, 0xC03F}), 1.5);
}

TEST(ModbusDecode, Float64Orders) {
  // -2.5 is 0xC004000000000000; 1 + 2^-52 is 0x3FF0000000000001.
  EXPECT_EQ(decode(tag_of(ModbusType::float64), {0xC004, 0, 0, 0}), -2.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float64, kLittle), {0, 0, 0, 0xC004}), -2.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float64, kBig, kLittle), {0x04C0, 0, 0, 0}), -2.5);
  EXPECT_EQ(decode(tag_of(ModbusType::float64, kLittle, kLittle), {0x0100, 0, 0, 0xF03F}), 1 + 0x1p-52);
}

TEST(ModbusDecode, ScaleAndOffset) {
  auto t = tag_of(ModbusType::int16);
  t.scale = 0.1;
  t.offset = -10;
  EXPECT_DOUBLE_EQ(decode(t, {250}), 15.0);
  EXPECT_DOUBLE_EQ(decode(t, {0xFF9C}), -20.0);  // raw -100
  EXPECT_EQ(tag_data_type(t), DataType::number);
  EXPECT_EQ(tag_data_type(tag_of(ModbusType::int32)), DataType::integer);
  EXPECT_EQ(tag_data_type(tag_of(ModbusType::float32)), DataType::number);
  EXPECT_EQ(tag_data_type(tag_of(ModbusType::boolean)), DataType::boolean);
}

TEST(ModbusEncode, RoundTripsEveryTypeAndOrder) {
  const std::vector<std::pair<ModbusType, double>> cases = {
      {ModbusType::int16, -1234},       {ModbusType::uint16, 54321},     {ModbusType::int32, -123456789},
      {ModbusType::uint32, 4000000000}, {ModbusType::float32, 3.140625}, {ModbusType::float64, -1e300}};
  for (auto [type, value] : cases) {
    for (auto word : {kBig, kLittle}) {
      for (auto byte : {kBig, kLittle}) {
        const auto t = tag_of(type, word, byte);
        auto e = encode_registers(t, value);
        ASSERT_TRUE(e.error.empty()) << e.error;
        ASSERT_EQ(e.registers.size(), static_cast<std::size_t>(modbus_width(type)));
        EXPECT_EQ(decode_registers(t, e.registers), value) << to_string(type);
      }
    }
  }
  // The layout itself, not only the round trip.
  EXPECT_EQ(encode_registers(tag_of(ModbusType::uint32, kLittle, kBig), 0x12345678).registers,
            (std::vector<std::uint16_t>{0x5678, 0x1234}));
  EXPECT_EQ(encode_registers(tag_of(ModbusType::uint32, kBig, kLittle), 0x12345678).registers,
            (std::vector<std::uint16_t>{0x3412, 0x7856}));
}

TEST(ModbusEncode, ScaleRoundsAndRangeIsChecked) {
  auto t = tag_of(ModbusType::int16);
  t.scale = 0.1;
  t.offset = 0;
  EXPECT_EQ(encode_registers(t, 1.26).registers, (std::vector<std::uint16_t>{13}));
  EXPECT_EQ(encode_registers(t, -0.5).registers, (std::vector<std::uint16_t>{0xFFFB}));
  EXPECT_TRUE(encode_registers(t, 3276.7).error.empty());
  EXPECT_FALSE(encode_registers(t, 3276.8).error.empty());  // raw 32768
  EXPECT_FALSE(encode_registers(tag_of(ModbusType::uint16), -1).error.empty());
  EXPECT_FALSE(encode_registers(tag_of(ModbusType::uint16), 65536).error.empty());
  EXPECT_TRUE(encode_registers(tag_of(ModbusType::uint16), 65535).error.empty());
  EXPECT_FALSE(encode_registers(tag_of(ModbusType::int32), 2147483648.0).error.empty());
  EXPECT_FALSE(encode_registers(tag_of(ModbusType::uint32), 4294967296.0).error.empty());
  EXPECT_FALSE(encode_registers(tag_of(ModbusType::float32), 1e39).error.empty());
  EXPECT_TRUE(encode_registers(tag_of(ModbusType::float64), 1e39).error.empty());
}

struct Planner {
  std::vector<ModbusTag> tags;
  void add(ModbusArea area, int address, ModbusType type = ModbusType::uint16, int unit = 1) {
    ModbusTag t;
    t.name = "t" + std::to_string(tags.size());
    t.area = area;
    t.address = address;
    t.type = is_bit_area(area) ? ModbusType::boolean : type;
    t.unit_id = unit;
    tags.push_back(t);
  }
  std::vector<ModbusRead> plan(int max_gap = 0) const {
    std::vector<std::size_t> all(tags.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    return plan_reads(tags, all, max_gap);
  }
};

TEST(ModbusPlan, ContiguousTagsAreOneRead) {
  Planner p;
  p.add(ModbusArea::holding, 2);
  p.add(ModbusArea::holding, 0);
  p.add(ModbusArea::holding, 1);
  p.add(ModbusArea::holding, 3, ModbusType::float32);
  auto reads = p.plan();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].start, 0);
  EXPECT_EQ(reads[0].count, 5);
  EXPECT_EQ(reads[0].tags.size(), 4u);
}

TEST(ModbusPlan, GapSplitsUnlessAllowed) {
  Planner p;
  p.add(ModbusArea::holding, 10);
  p.add(ModbusArea::holding, 13);
  auto reads = p.plan();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[1].start, 13);
  EXPECT_EQ(reads[1].count, 1);
  EXPECT_EQ(p.plan(1).size(), 2u);
  auto merged = p.plan(2);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].start, 10);
  EXPECT_EQ(merged[0].count, 4);
}

TEST(ModbusPlan, OverlapMerges) {
  Planner p;
  p.add(ModbusArea::input, 10, ModbusType::int32);
  p.add(ModbusArea::input, 11);
  auto reads = p.plan();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].count, 2);
}

TEST(ModbusPlan, AreasAndUnitsAreSeparateReads) {
  Planner p;
  p.add(ModbusArea::holding, 0);
  p.add(ModbusArea::input, 1);
  p.add(ModbusArea::holding, 1, ModbusType::uint16, 2);
  p.add(ModbusArea::coil, 2);
  p.add(ModbusArea::discrete, 3);
  EXPECT_EQ(p.plan(10).size(), 5u);
}

TEST(ModbusPlan, ReadsStayWithinTheProtocolLimits) {
  Planner p;
  for (int a = 0; a < 124; ++a) p.add(ModbusArea::holding, a);
  p.add(ModbusArea::holding, 124, ModbusType::float32);  // would end at 126
  auto reads = p.plan();
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].count, 124);
  EXPECT_EQ(reads[1].start, 124);
  EXPECT_EQ(reads[1].count, 2);

  Planner bits;
  for (int a = 0; a < 2001; ++a) bits.add(ModbusArea::coil, a);
  auto bit_reads = bits.plan();
  ASSERT_EQ(bit_reads.size(), 2u);
  EXPECT_EQ(bit_reads[0].count, 2000);
  EXPECT_EQ(bit_reads[1].count, 1);
}

TEST(ModbusPlan, TopOfTheAddressSpace) {
  Planner p;
  p.add(ModbusArea::holding, 65532, ModbusType::float64);
  auto reads = p.plan();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].start + reads[0].count, 65536);
}

}  // namespace
}  // namespace tagstream

namespace tagstream {
namespace {

using std::chrono::milliseconds;

TEST(ModbusSchedule, DeadlinesStayOnTheGridAndMissedPollsAreSkipped) {
  const std::chrono::steady_clock::time_point t0{std::chrono::seconds(100)};
  const auto period = milliseconds(100);
  // On time or a little late: the next deadline is one period after the
  // last one, not after the poll's start (no drift).
  auto n = next_poll(t0, t0 + milliseconds(7), period);
  EXPECT_EQ(n.deadline, t0 + milliseconds(100));
  EXPECT_EQ(n.skipped, 0u);
  n = next_poll(t0, t0 + milliseconds(99), period);
  EXPECT_EQ(n.deadline, t0 + milliseconds(100));
  // Three and a half periods late: the three missed polls are skipped, and
  // the next one keeps the grid.
  n = next_poll(t0, t0 + milliseconds(350), period);
  EXPECT_EQ(n.deadline, t0 + milliseconds(400));
  EXPECT_EQ(n.skipped, 3u);
  // Exactly one period late: that deadline is due now, so it is skipped.
  n = next_poll(t0, t0 + milliseconds(100), period);
  EXPECT_EQ(n.deadline, t0 + milliseconds(200));
  EXPECT_EQ(n.skipped, 1u);
  // A thousand polls in a row, each started 30 ms late, end on the grid.
  auto deadline = t0;
  for (int i = 0; i < 1000; ++i) deadline = next_poll(deadline, deadline + milliseconds(30), period).deadline;
  EXPECT_EQ(deadline, t0 + 1000 * period);
}

}  // namespace
}  // namespace tagstream
