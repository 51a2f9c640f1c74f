# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Write urdf/g1.urdf and urdf/g1/g1.xml from the Unitree G1 URDF of example-robot-data.

The source is ``g1_29dof_with_hand_rev_1_0.urdf`` (the G1's 29 joints and the two 7-joint
Dex3-1 hands, 43 revolute joints) from the ``example-robot-data`` 6.0.0 wheel on PyPI::

    pip download --no-deps example-robot-data==6.0.0 -d /tmp/erd
    unzip -q /tmp/erd/example_robot_data-6.0.0-0-py3-none-any.whl -d /tmp/erd
    python tools/make_g1_model.py \
        --urdf /tmp/erd/cmeel.prefix/share/example-robot-data/robots/g1_description/urdf/\
g1_29dof_with_hand_rev_1_0.urdf

Kinematics, joint limits and inertias are kept exactly. The meshes (24 MB) are replaced by
primitive shapes (capsules along each link towards its children, boxes for the feet, the
pelvis, the torso and the palms, a sphere for the head), the same in the URDF and the MJCF, so
that the repository stays small and both files need no mesh directory. What this adds:

- ``urdf/g1.urdf``: the URDF with the primitive shapes, a ``<ros2_control>`` block (mock
  hardware) with a position command interface for each of the 43 joints, and for Gazebo
  (``launch/gazebo.launch.py``, docs/gazebo.md) the ``gz_ros2_control-system`` plugin naming
  ``config/g1_controllers.yaml`` and a camera sensor for each MJCF camera below (same link,
  position and field of view; Gazebo cameras look along +x with +z up);
- ``urdf/g1/g1.xml``: MuJoCo's import of that URDF (MjSpec), with the pelvis fixed in the
  world 0.793 m above the floor, gravity compensation on every link (a humanoid's controllers
  feed gravity torques forward; the position servos then track without sag), one position
  actuator per joint named as the joint (gains by joint group, torque limited to the URDF's
  effort), joint damping and armature, a head camera at the D435's mount, a camera on the back
  of each hand, and a site on each palm's underside behind the fingers (``left_palm``,
  ``right_palm``; ``PALM_SITE_M``).

``urdf/g1/g1_scene.xml`` (written by hand) includes ``g1.xml`` and adds the floor, the table,
the cubes and the home keyframe.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
import tempfile
from xml.etree import ElementTree

import mujoco
import numpy as np

#: Pelvis height above the floor, m: the G1's standing height with straight legs.
PELVIS_HEIGHT_M = 0.793
#: (joint name prefix or part, kp in N m / rad, damping in N m s / rad) of the servos.
GAINS = (('hip', 300.0, 5.0), ('knee', 300.0, 5.0), ('ankle', 100.0, 2.0),
         ('waist', 300.0, 5.0), ('shoulder', 120.0, 2.0), ('elbow', 100.0, 2.0),
         ('wrist', 40.0, 0.5), ('hand', 5.0, 0.05))


#: The cameras, in MJCF terms: name -> (body, position in it (m), MJCF xyaxes, fovy (deg)).
#: The head camera sits at the D435 mount (x forward, pitched 0.83 rad down); each wrist camera
#: is above the back of the hand, looking along the fingers and 45 degrees down.
CAMERAS = {
    'head': ('d435_link', (0.0, 0.0, 0.0), (0.0, -1.0, 0.0, 0.0, 0.0, 1.0), 70.0),
    'left_wrist': ('left_hand_palm_link', (-0.02, 0.0, 0.08),
                   (0.0, -1.0, 0.0, 0.71, 0.0, 0.71), 90.0),
    'right_wrist': ('right_hand_palm_link', (-0.02, 0.0, 0.08),
                    (0.0, -1.0, 0.0, 0.71, 0.0, 0.71), 90.0),
}
#: Each palm's site, in its palm link, m: the middle of the underside (-z face) of the palm's
#: box behind the fingers. The middle finger hangs 2.2 cm below the palm from 1 cm ahead of
#: this point on (the index finger as far above), so a hand held level with this point over a
#: cube's top face clears the cube with its fingers.
PALM_SITE_M = (0.0375, 0.0, -0.015)
#: Camera image size and rate, as config/g1.yaml's embodiment.cameras and sim.camera_rate_hz.
CAMERA_SIZE_PX = 224
CAMERA_RATE_HZ = 10


def _floats(text: str | None, default: str = '0 0 0') -> np.ndarray:
    return np.array([float(v) for v in (text or default).split()])


def _fmt(values: np.ndarray | list[float]) -> str:
    return ' '.join(f'{v:.6g}' for v in values)


def _shape(link: str, children: list[np.ndarray], com: np.ndarray
           ) -> list[tuple[str, dict[str, str]]]:
    """Primitive shapes of one link: (URDF geometry tag, attributes) with an origin xyz/rpy."""
    if link == 'pelvis':
        return [('box', {'size': '0.12 0.2 0.1', 'xyz': '0 0 -0.05'})]
    if link == 'torso_link':
        return [('box', {'size': '0.11 0.2 0.26', 'xyz': '0 0 0.19'})]
    if link == 'head_link':
        return [('sphere', {'radius': '0.065', 'xyz': '0.01 0 0.43'})]
    if link.endswith('ankle_roll_link'):
        return [('box', {'size': '0.2 0.07 0.03', 'xyz': '0.035 0 -0.02'})]
    if link.endswith('hand_palm_link'):
        return [('box', {'size': '0.09 0.07 0.03', 'xyz': '0.05 0 0'})]
    ends = [p for p in children if np.linalg.norm(p) > 0.015]
    if not ends and np.linalg.norm(com) > 0.005:  # a fingertip: towards twice its centre
        ends = [2.0 * com]
    radius = 0.008 if 'hand' in link else 0.03
    shapes = []
    for end in ends:
        length = float(np.linalg.norm(end))
        axis = end / length
        pitch = float(np.arccos(np.clip(axis[2], -1.0, 1.0)))  # z onto the axis: R_z(yaw) R_y
        yaw = float(np.arctan2(axis[1], axis[0]))
        shapes.append(('cylinder', {'radius': f'{radius}', 'length': f'{length:.6g}',
                                    'xyz': _fmt(end / 2), 'rpy': _fmt([0.0, pitch, yaw])}))
    return shapes or [('sphere', {'radius': f'{radius}', 'xyz': '0 0 0'})]


def simplify_urdf(source: ElementTree.Element) -> ElementTree.Element:
    """The source URDF with each link's meshes replaced by primitive shapes."""
    robot = copy.deepcopy(source)
    robot.set('name', 'g1')
    children: dict[str, list[np.ndarray]] = {}
    for joint in robot.findall('joint'):
        parent = joint.find('parent')
        origin = joint.find('origin')
        assert parent is not None
        position = _floats(origin.get('xyz') if origin is not None else None)
        children.setdefault(parent.get('link', ''), []).append(position)
    for link in robot.findall('link'):
        for old in link.findall('visual') + link.findall('collision'):
            link.remove(old)
        inertial = link.find('inertial/origin')
        com = _floats(inertial.get('xyz') if inertial is not None else None)
        name = link.get('name', '')
        mass = link.find('inertial/mass')
        if mass is None or float(mass.get('value', '0')) < 0.01:
            continue  # sensor frames (imu, d435, mid360) and the logo: no shape
        for tag, attributes in _shape(name, children.get(name, []), com):
            xyz, rpy = attributes.pop('xyz'), attributes.pop('rpy', '0 0 0')
            for kind in ('visual', 'collision'):
                element = ElementTree.SubElement(link, kind)
                ElementTree.SubElement(element, 'origin', xyz=xyz, rpy=rpy)
                geometry = ElementTree.SubElement(element, 'geometry')
                ElementTree.SubElement(geometry, tag, attributes)
                if kind == 'visual':
                    ElementTree.SubElement(element, 'material',
                                           name='dark' if 'hand' in name else 'white')
    return robot


def add_ros2_control(robot: ElementTree.Element) -> list[str]:
    """Append a mock-hardware ``<ros2_control>`` block; returns the joints, in URDF order."""
    block = ElementTree.SubElement(robot, 'ros2_control', name='g1', type='system')
    hardware = ElementTree.SubElement(block, 'hardware')
    ElementTree.SubElement(hardware, 'plugin').text = 'mock_components/GenericSystem'
    names = []
    for joint in robot.findall('joint'):
        if joint.get('type') != 'revolute':
            continue
        limit = joint.find('limit')
        assert limit is not None
        names.append(joint.get('name', ''))
        element = ElementTree.SubElement(block, 'joint', name=joint.get('name', ''))
        command = ElementTree.SubElement(element, 'command_interface', name='position')
        ElementTree.SubElement(command, 'param', name='min').text = limit.get('lower')
        ElementTree.SubElement(command, 'param', name='max').text = limit.get('upper')
        state = ElementTree.SubElement(element, 'state_interface', name='position')
        ElementTree.SubElement(state, 'param', name='initial_value').text = '0'
        ElementTree.SubElement(element, 'state_interface', name='velocity')
    return names


def _gazebo_rpy(xyaxes: tuple[float, ...]) -> list[float]:
    """Roll, pitch, yaw of a Gazebo camera (looks along +x, +z up) that sees as the MJCF one.

    A MuJoCo camera looks along -z of the frame whose x and y axes ``xyaxes`` gives.
    """
    right, up = np.array(xyaxes[:3]), np.array(xyaxes[3:])
    up = up / np.linalg.norm(up)
    look = -np.cross(right, up)
    look = look / np.linalg.norm(look)
    rotation = np.column_stack([look, np.cross(up, look), up])
    return [float(np.arctan2(rotation[2, 1], rotation[2, 2])),
            float(-np.arcsin(np.clip(rotation[2, 0], -1.0, 1.0))),
            float(np.arctan2(rotation[1, 0], rotation[0, 0]))]


def add_gazebo(robot: ElementTree.Element) -> None:
    """Append the gz_ros2_control plugin and a camera sensor per camera of ``CAMERAS``."""
    robot.append(ElementTree.Comment(
        ' Gazebo (launch/gazebo.launch.py, docs/gazebo.md). Ignored by everything else. The '
        'launch\n       file swaps the hardware plugin above for gz_ros2_control/GazeboSimSystem '
        'and resolves\n       this package:// path of the controllers YAML to the installed '
        'file. The cameras are\n       the MJCF ones (urdf/g1/g1.xml): same link, position and '
        'field of view. '))
    gazebo = ElementTree.SubElement(robot, 'gazebo')
    plugin = ElementTree.SubElement(gazebo, 'plugin', filename='gz_ros2_control-system',
                                    name='gz_ros2_control::GazeboSimROS2ControlPlugin')
    ElementTree.SubElement(plugin, 'parameters').text = \
        'package://vla_ros/config/g1_controllers.yaml'
    for name, (link, position, xyaxes, fovy_deg) in CAMERAS.items():
        mount = ElementTree.SubElement(robot, 'gazebo', reference=link)
        sensor = ElementTree.SubElement(mount, 'sensor', name=name, type='camera')
        pose = [*position, *_gazebo_rpy(xyaxes)]
        ElementTree.SubElement(sensor, 'pose').text = _fmt([v if abs(v) > 1e-9 else 0.0
                                                            for v in pose])
        ElementTree.SubElement(sensor, 'topic').text = f'camera/{name}/image_raw'
        ElementTree.SubElement(sensor, 'gz_frame_id').text = link
        ElementTree.SubElement(sensor, 'update_rate').text = str(CAMERA_RATE_HZ)
        ElementTree.SubElement(sensor, 'always_on').text = 'true'
        camera = ElementTree.SubElement(sensor, 'camera')
        ElementTree.SubElement(camera, 'horizontal_fov').text = f'{np.radians(fovy_deg):.4f}'
        image = ElementTree.SubElement(camera, 'image')
        ElementTree.SubElement(image, 'width').text = str(CAMERA_SIZE_PX)
        ElementTree.SubElement(image, 'height').text = str(CAMERA_SIZE_PX)
        ElementTree.SubElement(image, 'format').text = 'R8G8B8'
        clip = ElementTree.SubElement(camera, 'clip')
        ElementTree.SubElement(clip, 'near').text = '0.01'
        ElementTree.SubElement(clip, 'far').text = '5.0'


def _gains(joint: str) -> tuple[float, float]:
    for part, kp, damping in GAINS:
        if part in joint:
            return kp, damping
    raise ValueError(f'no gains for joint {joint!r}')


def make_mjcf(urdf_text: str, joints: list[str]) -> str:
    """MuJoCo's import of the simplified URDF, fixed in the world, with servos and cameras."""
    root = ElementTree.fromstring(urdf_text)
    extension = ElementTree.SubElement(root, 'mujoco')
    ElementTree.SubElement(extension, 'compiler', fusestatic='false', discardvisual='true',
                           balanceinertia='true')
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'g1.urdf'
        path.write_text(ElementTree.tostring(root, encoding='unicode'))
        spec = mujoco.MjSpec.from_file(str(path))
    spec.modelname = 'g1'
    pelvis = spec.body('pelvis')
    pelvis.pos = [0.0, 0.0, PELVIS_HEIGHT_M]
    for body in spec.bodies:
        if body.name != 'world':
            body.gravcomp = 1.0
    for body in spec.bodies:
        for geom in body.geoms:  # touch the world (contype 1), never each other
            geom.contype, geom.conaffinity = 2, 1
            geom.rgba = ([0.2, 0.2, 0.22, 1.0] if 'hand' in body.name
                         else [0.75, 0.75, 0.78, 1.0])
    for name in joints:
        joint = spec.joint(name)
        kp, damping = _gains(name)
        joint.damping = [damping, 0.0, 0.0]
        joint.armature = 0.01 if 'hand' not in name else 0.001
        effort = float(joint.actfrcrange[1]) if joint.actfrclimited else 0.0
        actuator = spec.add_actuator(name=name, target=name,
                                     trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=kp)
        actuator.ctrllimited, actuator.ctrlrange = True, list(joint.range)
        if effort > 0.0:
            actuator.forcelimited, actuator.forcerange = True, [-effort, effort]
    for name, (link, position, xyaxes, fovy_deg) in CAMERAS.items():
        spec.body(link).add_camera(name=name, pos=list(position), fovy=fovy_deg,
                                   xyaxes=list(xyaxes))
    for side in ('left', 'right'):
        palm = spec.body(f'{side}_hand_palm_link')
        palm.add_site(name=f'{side}_palm', pos=list(PALM_SITE_M), size=[0.01, 0.0, 0.0])
    spec.compile()
    return str(spec.to_xml())


def main() -> None:
    """Read ``--urdf``, write urdf/g1.urdf and urdf/g1/g1.xml under ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--urdf', type=Path, required=True)
    parser.add_argument('--out', type=Path, default=Path(__file__).resolve().parents[1] / 'urdf')
    args = parser.parse_args()
    robot = simplify_urdf(ElementTree.parse(args.urdf).getroot())
    joints = add_ros2_control(robot)
    add_gazebo(robot)
    ElementTree.indent(robot)
    urdf_text = ElementTree.tostring(robot, encoding='unicode')
    header = ('<?xml version="1.0"?>\n<!-- Unitree G1 (29 DoF + Dex3-1 hands) from '
              'example-robot-data 6.0.0 (BSD-3-Clause, see urdf/g1/NOTICE);\n     meshes '
              'replaced by primitive shapes, ros2_control and Gazebo elements added\n     by '
              'tools/make_g1_model.py. -->\n')
    (args.out / 'g1.urdf').write_text(header + urdf_text + '\n')
    no_control = ElementTree.fromstring(urdf_text)
    for element in no_control.findall('ros2_control') + no_control.findall('gazebo'):
        no_control.remove(element)
    mjcf = make_mjcf(ElementTree.tostring(no_control, encoding='unicode'), joints)
    (args.out / 'g1').mkdir(exist_ok=True)
    (args.out / 'g1' / 'g1.xml').write_text(mjcf)
    print(f'{len(joints)} joints -> {args.out / "g1.urdf"}, {args.out / "g1" / "g1.xml"}')


if __name__ == '__main__':
    main()
