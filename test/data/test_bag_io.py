# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""BagWriter and BagReader on real bags, checked against rosbags' own reader (AnyReader)."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import threading

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
import yaml

from vla_ros.core.errors import DataError
from vla_ros.data import BagReader, BagWriter, MessageTypes, StorageFormat
from vla_ros.data.message_types import default_share_dirs

T0_NS = 1_700_000_000_000_000_000
LATCHED = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
              QosTime(0, 0), QosTime(0, 0), QosLiveliness.AUTOMATIC, QosTime(0, 0), False)
BEST_EFFORT = LATCHED._replace(depth=5, reliability=QosReliability.BEST_EFFORT,
                               durability=QosDurability.VOLATILE)


@pytest.fixture(scope='module')
def types() -> MessageTypes:
    return MessageTypes()


def _messages(types: MessageTypes) -> list[tuple[str, str, int, object]]:
    """(topic, type, timestamp, message) of three kinds, interleaved, made with rosbags."""
    store = types.typestore.types
    header = store['std_msgs/msg/Header']
    stamp = store['builtin_interfaces/msg/Time']
    made = []
    for index in range(4):
        now = header(stamp=stamp(sec=1700000000 + index, nanosec=index), frame_id='base')
        made.append(('/joint_states', 'sensor_msgs/msg/JointState', T0_NS + index * 10_000_000,
                     store['sensor_msgs/msg/JointState'](
                         header=now, name=['joint1', 'joint2'],
                         position=np.array([0.1 * index, -0.2]), velocity=np.array([0.0, 1.5]),
                         effort=np.array([], dtype=np.float64))))
        pixels = np.arange(4 * 3 * 3, dtype=np.uint8) + index
        made.append(('/camera/front/image_raw', 'sensor_msgs/msg/Image',
                     T0_NS + index * 10_000_000 + 5_000_000,
                     store['sensor_msgs/msg/Image'](header=now, height=3, width=4,
                                                    encoding='rgb8', is_bigendian=0, step=12,
                                                    data=pixels)))
    made.append(('/vla/status', 'vla_ros/msg/PolicyStatus', T0_NS + 50_000_000,
                 _policy_status(types, header(stamp=stamp(sec=5, nanosec=6), frame_id=''))))
    return made


def _policy_status(types: MessageTypes, header: object) -> object:
    """A PolicyStatus with a few fields set; fields added to the message later stay zero."""
    chosen = {'header': header, 'state': 1, 'instruction': 'touch the red cube',
              'last_inference_latency_ms': 12.5, 'chunks_published': 7}
    zeros = {'string': '', 'bool': False, 'float32': 0.0, 'float64': 0.0}
    fields = {name: chosen[name] if name in chosen else zeros.get(description[1][0], 0)
              for name, description in types.typestore.fielddefs['vla_ros/msg/PolicyStatus'][1]}
    return types.typestore.types['vla_ros/msg/PolicyStatus'](**fields)


def _write(path: Path, types: MessageTypes, storage: StorageFormat, version: int = 8
           ) -> list[tuple[str, str, int, bytes]]:
    written = []
    with BagWriter(path, storage=storage, version=version, message_types=types) as writer:
        writer.add_topic('/vla/status', 'vla_ros/msg/PolicyStatus', offered_qos=[LATCHED])
        writer.add_topic('/camera/front/image_raw', 'sensor_msgs/msg/Image',
                         offered_qos=[BEST_EFFORT])
        for topic, type_name, stamp_ns, message in _messages(types):
            data = bytes(types.typestore.serialize_cdr(message, type_name))
            writer.write(topic, type_name, stamp_ns, data)
            written.append((topic, type_name, stamp_ns, data))
    return written


@pytest.mark.parametrize(('storage', 'version'), [(StorageFormat.SQLITE3, 8),
                                                  (StorageFormat.MCAP, 8),
                                                  (StorageFormat.MCAP, 9)],
                         ids=['sqlite3-v8', 'mcap-v8', 'mcap-v9'])
def test_rosbags_reads_back_every_field_and_the_offered_qos(tmp_path, types, storage, version):
    bag = tmp_path / 'bag'
    written = _write(bag, types, storage, version)

    with AnyReader([bag]) as reader:
        read = [(connection.topic, connection.msgtype, stamp_ns,
                 reader.deserialize(data, connection.msgtype))
                for connection, stamp_ns, data in reader.messages()]
        qos = {connection.topic: connection.ext.offered_qos_profiles
               for connection in reader.connections}

    expected = _messages(types)
    assert [(topic, type_name, stamp) for topic, type_name, stamp, _ in read] == [
        (topic, type_name, stamp) for topic, type_name, stamp, _ in written]
    for (_, type_name, _, got), (_, _, _, want) in zip(read, expected):
        if type_name == 'sensor_msgs/msg/JointState':
            assert got.name == want.name and got.header.stamp.sec == want.header.stamp.sec
            np.testing.assert_array_equal(got.position, want.position)
            np.testing.assert_array_equal(got.velocity, want.velocity)
        elif type_name == 'sensor_msgs/msg/Image':
            assert (got.width, got.height, got.encoding, got.step) == (4, 3, 'rgb8', 12)
            np.testing.assert_array_equal(got.data, want.data)
        else:
            assert got.instruction == 'touch the red cube' and got.state == 1
            assert got.last_inference_latency_ms == 12.5 and got.chunks_published == 7
    assert qos['/vla/status'] == [LATCHED]
    assert qos['/camera/front/image_raw'] == [BEST_EFFORT]
    assert qos['/joint_states'] == []
    metadata = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
    assert metadata['version'] == version
    assert metadata['storage_identifier'] == storage.value
    assert metadata['message_count'] == len(written)


@pytest.mark.parametrize('storage', list(StorageFormat), ids=lambda storage: storage.value)
def test_bag_reader_returns_the_bytes_in_time_order_with_counts(tmp_path, types, storage):
    bag = tmp_path / 'bag'
    written = _write(bag, types, storage)

    with BagReader(bag) as reader:
        messages = list(reader.messages())
        only_status = list(reader.messages(topics={'/vla/status'}))
        info = reader.info

    assert [(m.topic, m.type_name, m.timestamp_ns, m.data) for m in messages] == written
    assert [m.topic for m in only_status] == ['/vla/status']
    assert {(t.topic, t.type_name, t.message_count) for t in info.topics} == {
        ('/joint_states', 'sensor_msgs/msg/JointState', 4),
        ('/camera/front/image_raw', 'sensor_msgs/msg/Image', 4),
        ('/vla/status', 'vla_ros/msg/PolicyStatus', 1)}
    assert info.message_count == 9
    assert (info.start_ns, info.duration_ns) == (T0_NS, 50_000_000)
    assert next(t for t in info.topics if t.topic == '/vla/status').offered_qos == (LATCHED,)
    storage_file = next(path for path in bag.iterdir() if path.name != 'metadata.yaml')
    with BagReader(storage_file) as reader:  # a lone .db3 or .mcap file reads the same
        assert [m.data for m in reader.messages()] == [data for *_, data in written]


def test_type_hashes_match_the_ones_rosidl_generated(types):
    """The hashes ``ros2 bag`` and rosidl compute, so the bags' types match the live ones."""
    share = next(share / 'vla_ros' for share in default_share_dirs()
                 if (share / 'vla_ros' / 'msg').is_dir())
    generated = {entry['type_name']: entry['hash_string']
                 for path in [*share.glob('msg/*.json'), *share.glob('action/*.json')]
                 for entry in json.loads(path.read_text())['type_hashes']}
    ours = ['vla_ros/msg/PolicyStatus', 'vla_ros/action/ExecuteInstruction_Goal',
            'vla_ros/action/ExecuteInstruction_FeedbackMessage']

    for type_name in ours:
        assert types.definition(type_name)[1] == generated[type_name], (
            f'{type_name}: hash differs from the build; rebuild with scripts/setup')


def test_existing_bag_is_never_overwritten(tmp_path, types):
    bag = tmp_path / 'bag'
    _write(bag, types, StorageFormat.SQLITE3)
    before = sorted((path.name, path.stat().st_size) for path in bag.iterdir())

    with pytest.raises(DataError, match=r'bag: exists already; a bag is never overwritten'):
        BagWriter(bag, message_types=types)
    assert sorted((path.name, path.stat().st_size) for path in bag.iterdir()) == before


def test_uncreatable_path_is_a_data_error(tmp_path, types):
    (tmp_path / 'a_file').write_text('not a directory')

    with pytest.raises(DataError, match=r'a_file/bag: cannot create the bag'):
        BagWriter(tmp_path / 'a_file' / 'bag', message_types=types)


@pytest.mark.parametrize('storage', list(StorageFormat), ids=lambda storage: storage.value)
def test_truncated_bag_is_a_data_error_naming_the_bag(tmp_path, types, storage):
    bag = tmp_path / 'cut_bag'
    _write(bag, types, storage)
    storage_file = next(path for path in bag.iterdir() if path.name != 'metadata.yaml')
    storage_file.write_bytes(storage_file.read_bytes()[:storage_file.stat().st_size // 2])

    with pytest.raises(DataError, match=rf'^{tmp_path}/cut_bag: not a readable rosbag2 bag: '):
        with BagReader(bag) as reader:
            list(reader.messages())


def test_missing_bag_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match=r'no_bag: no such bag'):
        BagReader(tmp_path / 'no_bag')


def test_unknown_type_is_refused_and_counted_while_other_topics_record(tmp_path, types):
    bag = tmp_path / 'bag'
    status = next(m for m in _messages(types) if m[0] == '/vla/status')
    data = bytes(types.typestore.serialize_cdr(status[3], status[1]))

    with BagWriter(bag, message_types=types) as writer:
        for _ in range(2):
            with pytest.raises(DataError, match=r"topic '/odd'.*'acme_msgs/msg/Gadget'"):
                writer.write('/odd', 'acme_msgs/msg/Gadget', T0_NS, b'\x00\x01\x00\x00')
        writer.write('/vla/status', status[1], T0_NS, data)

    assert {(c.topic, c.received, c.written) for c in writer.counts()} == {
        ('/odd', 2, 0), ('/vla/status', 1, 1)}
    with AnyReader([bag]) as reader:
        assert [c.topic for c in reader.connections] == ['/vla/status']


def test_messages_after_close_are_counted_not_written(tmp_path, types):
    writer = BagWriter(tmp_path / 'bag', storage=StorageFormat.MCAP, message_types=types)
    hello = b'\x00\x01\x00\x00\x03\x00\x00\x00hi\x00'  # std_msgs/String 'hi' in CDR
    writer.write('/chatter', 'std_msgs/msg/String', T0_NS, hello)
    first = writer.close()

    writer.write('/chatter', 'std_msgs/msg/String', T0_NS + 1, b'\x00\x01\x00\x00')
    writer.write('/late', 'std_msgs/msg/String', T0_NS + 2, b'\x00\x01\x00\x00')

    assert [(c.topic, c.received, c.written) for c in first] == [('/chatter', 1, 1)]
    assert [(c.topic, c.received, c.written) for c in writer.close()] == [
        ('/chatter', 2, 1), ('/late', 1, 0)]
    with BagReader(tmp_path / 'bag') as reader:
        assert [m.data for m in reader.messages()] == [hello]


def test_writes_from_many_threads_all_land(tmp_path, types):
    per_thread = 200
    bag = tmp_path / 'bag'

    def write_many(writer: BagWriter, thread: int) -> None:
        for index in range(per_thread):
            text = f'{thread}:{index}'.encode() + b'\x00'
            data = b'\x00\x01\x00\x00' + len(text).to_bytes(4, 'little') + text
            writer.write(f'/thread_{thread % 2}', 'std_msgs/msg/String',
                         T0_NS + index * 1000 + thread, data)

    with BagWriter(bag, message_types=types) as writer:
        threads = [threading.Thread(target=write_many, args=(writer, thread))
                   for thread in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    with AnyReader([bag]) as reader:
        texts = {reader.deserialize(data, connection.msgtype).data
                 for connection, _, data in reader.messages()}
    assert texts == {f'{thread}:{index}' for thread in range(4) for index in range(per_thread)}
    assert sorted((c.topic, c.received, c.written) for c in writer.counts()) == [
        ('/thread_0', 400, 400), ('/thread_1', 400, 400)]


def test_bag_api_imports_without_rclpy():
    probe = ('import json, sys\nimport vla_ros.data\n'
             "print(json.dumps([name for name in ('rclpy', 'torch') if name in sys.modules]))")
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_mcap_library_reads_our_mcap_bag(tmp_path, types):
    from mcap.reader import make_reader

    written = _write(tmp_path / 'bag', types, StorageFormat.MCAP)
    (mcap_file,) = (tmp_path / 'bag').glob('*.mcap')

    with mcap_file.open('rb') as stream:
        read = [(channel.topic, schema.name, message.log_time, message.data,
                 schema.encoding, channel.message_encoding)
                for schema, channel, message in make_reader(stream).iter_messages()]

    assert [(topic, name, stamp, data) for topic, name, stamp, data, _, _ in read] == [
        (topic, type_name, stamp, data) for topic, type_name, stamp, data in written]
    assert {(schema_encoding, encoding) for *_, schema_encoding, encoding in read} == {
        ('ros2msg', 'cdr')}
