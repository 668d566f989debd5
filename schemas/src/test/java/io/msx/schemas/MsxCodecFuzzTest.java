package io.msx.schemas;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.apache.avro.specific.SpecificRecord;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the codec (Jazzer). In the normal build the committed seed corpus
 * ({@code src/test/resources/io/msx/schemas/MsxCodecFuzzTestInputs}: one valid record of every msx type, plus the
 * forged records of the issue) is replayed; the {@code fuzz} execution of the build fuzzes for a bounded time.
 * A finding is any exception or error escaping {@link MsxCodec#decode}, or a decoded record that does not survive
 * re-encoding.
 */
class MsxCodecFuzzTest {

    /**
     * This build's schemas, then the v2 set (new types and current types with a field added): records written with
     * those ids reach the resolving, skipping and unknown-type paths, not just the one where writer equals reader.
     */
    private static final InMemorySchemaRegistry REGISTRY = InMemorySchemaRegistry.withMsxSchemas();

    static {
        V2Schemas.load().values().forEach(s -> REGISTRY.register(s.getFullName(), s));
    }
    private static final MsxCodec CODEC = MsxCodec.of(REGISTRY, false, DecodeLimits.DEFAULTS);

    @FuzzTest(maxDuration = "30s")
    void decodeReadsOrRefusesButNeverThrows(byte[] data) {
        for (MessageFamily family : MessageFamily.values()) {
            Decoded decoded = CODEC.decode(family, "fuzz", 0, 0, data);
            assertThat(decoded).isNotNull();
            if (decoded instanceof Decoded.Message message) {
                SpecificRecord value = message.value();
                assertThat(MessageFamily.ofType(value.getSchema().getFullName())).contains(family);
                assertThat(family.<SpecificRecord>header(value)).isNotNull();
                // compared as bytes: Avro's generated equals() fails on logical types inside nested unions
                byte[] encoded = CODEC.encode(value);
                Decoded again = CODEC.decode(family, "fuzz", 0, 0, encoded);
                assertThat(again).isInstanceOf(Decoded.Message.class);
                assertThat(CODEC.encode(((Decoded.Message) again).value())).isEqualTo(encoded);
            } else if (decoded instanceof Decoded.Malformed malformed) {
                assertThat(malformed.reason()).isNotBlank();
            } else if (decoded instanceof Decoded.UnknownType unknown) {
                assertThat(unknown.reason()).contains(unknown.recordName());
            }
        }
    }
}
